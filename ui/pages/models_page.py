"""Models: the registry as a lineage tree, details, and Export / Open folder / Delete.

Export is a job (``studio.registry.export_config``) run by the generic ``JobRunner``: its
events show under the tree, Cancel is the job's stop mechanism, and the backend registers its
results itself at the very end, so a cancelled export leaves nothing registered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from studio.app.eval_matrix import regression_warning
from studio.app.evaluate import Score, latest_scores
from studio.app.export import prepare_export
from studio.app.models import (
    ModelEntry,
    ModelNode,
    delete_model,
    get_model,
    model_details,
    model_tree,
)
from studio.events import Event
from ui.context import AppContext, Changes
from ui.dialogs.add_model_dialog import AddModelDialog
from ui.dialogs.eval_dialog import EvalDialog
from ui.dialogs.gguf_export_dialog import GGUFExportDialog
from ui.pages.models_rounds import RoundsView
from ui.runners.job_runner import JobRunner, JobStrip
from ui.widgets.eval_matrix_view import EvalMatrixWidget
from ui.widgets.model_details import NO_SELECTION, details_html
from ui.widgets.model_rename import ModelRenamer
from ui.widgets.model_tree import ModelTreeView


class ModelsPage(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        # The export process registers its files in the database itself: the runner says so.
        self.export_runner = JobRunner("export", self, grace_ms=10_000, context=context,
                                       changes=Changes(models=True))
        self.export_runner.event.connect(self._on_export_event)
        self.export_runner.failed.connect(lambda message: self._say(f"Export failed: {message}"))
        self.export_runner.cancelled.connect(self._export_cancelled)
        self.export_runner.ended.connect(self._export_finished)
        self.tree = ModelTreeView()  # a ModelTreeModel of records read on the store worker
        self.tree.current_changed.connect(self._show_details)
        self.details = QTextBrowser(objectName="Card")
        self.details.setPlaceholderText(NO_SELECTION)
        self.progress = QLabel("", objectName="Muted")
        self.progress.setWordWrap(True)
        # The export's step progress, ETA and Cancel: the same strip as candidate generation.
        self.export_strip = JobStrip(self.export_runner)
        self.renamer = ModelRenamer(context, self.tree, self._say)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)  # as the other pages
        layout.addWidget(QLabel("Models", objectName="PageTitle"))
        layout.addLayout(self._buttons())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)  # the tree's names and scores take the extra width
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([700, 300])
        self.rounds = RoundsView(context)
        self.matrix = EvalMatrixWidget(context)  # every model x every eval set, and drift
        self.lower = QTabWidget()
        self.lower.addTab(self.rounds, "Rounds")
        self.lower.addTab(self.matrix, "Regression matrix")
        rows = QSplitter(Qt.Orientation.Vertical)
        rows.addWidget(splitter)
        rows.addWidget(self.lower)
        rows.setSizes([420, 220])
        layout.addWidget(rows, 1)
        layout.addWidget(self.export_strip)
        layout.addWidget(self.progress)
        context.changed.connect(lambda changes: changes.models and self.refresh())
        self.refresh()

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.add_button = QPushButton("Add base model…")
        self.export_button = QPushButton("Export to GGUF…")
        self.rename_button = QPushButton("Rename…")
        self.rename_button.setToolTip("Give the selected model a name of your own (F2)")
        self.open_button = QPushButton("Open folder")
        self.delete_button = QPushButton("Delete…")
        self.eval_button = QPushButton("Evaluate…")
        self.eval_button.setToolTip("Score the selected model on an eval set (and its parent,"
                                    " for the before/after).")
        for button, slot in ((self.add_button, self.add_base), (self.export_button, self.export),
                             (self.rename_button, self.renamer.ask),
                             (self.eval_button, self.evaluate),
                             (self.open_button, self.open_folder),
                             (self.delete_button, self.delete)):
            button.clicked.connect(slot)
            row.addWidget(button)
        row.addStretch(1)
        self.cancel_button = self.export_strip.cancel_button  # next to the export's progress
        return row

    # ---- tree and details --------------------------------------------------------------
    def refresh(self) -> None:
        self.context.ops.run(lambda store: (model_tree(store), latest_scores(store)),
                             on_success=self._show_tree, owner=self)

    def _show_tree(self, found: tuple[list[ModelNode], dict[str, list[Score]]]) -> None:
        self.tree.show_roots(*found)
        self._update_buttons()
        entries = [node.entry for root in found[0] for node in root.walk()]
        # Whether each model's files are still there: folder checks, on the I/O pool.
        self.context.io.run(lambda: {e.id for e in entries if not e.is_hub and not e.exists},
                            self.tree.mark_missing, owner=self)

    def selected_id(self) -> str | None:
        return self.tree.selected_id()

    def _show_details(self) -> None:
        self._update_buttons()
        model_id = self.selected_id()
        if not model_id:
            self.rounds.set_selected_model(None)
            self.details.clear()
        if model_id:
            self.context.ops.run(lambda store: model_details(store, model_id),
                                 on_success=self._render_details, owner=self)

    def _render_details(self, details: dict[str, Any]) -> None:
        self.rounds.set_selected_model(details["model"])
        self.details.setHtml(details_html(details))

    # ---- actions -----------------------------------------------------------------------
    def add_base(self) -> None:
        AddModelDialog(self.context, self).open()  # GGUFs found on disk, or an HF folder

    def export(self) -> None:
        model_id = self.selected_id()
        if model_id:
            self.context.ops.run(lambda store: (get_model(store, model_id),
                                                regression_warning(store, model_id)),
                                 on_success=lambda found: self._ask_export(*found), owner=self)

    def _ask_export(self, entry: ModelEntry, warning: str | None = None) -> None:
        if entry.kind not in ("base", "adapter", "merged"):
            self._say("Pick a base model, an adapter or a merged model to export.")
            return
        if warning and QMessageBox.warning(
                self, "Export a model that got worse?", warning + "\n\nExport it anyway?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No) != QMessageBox.StandardButton.Yes:
            return
        dialog = GGUFExportDialog(entry, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.start_export(entry, dialog.quants(), dialog.lora_gguf())

    def start_export(self, entry: ModelEntry, quants: list[str],
                     lora_gguf: bool = False) -> None:
        paths = self.context.paths
        # Reads the registry (the GGUF an adapter-only GGUF is checked on): the store worker.
        self.context.ops.run(
            lambda store: prepare_export(store, paths, entry.id, quants, lora_gguf),
            owner=self, on_success=lambda job: self._run_export(job, entry.name),
            on_failure=lambda error: self._say(f"Not exported: {error}"))

    def _run_export(self, job: Path, name: str) -> None:
        self.export_runner.start(job)
        self.export_strip.started(f"Exporting {name}…")
        self._say("")
        self._update_buttons()

    def _on_export_event(self, event: Event) -> None:
        # Progress (steps, ETA) goes to the strip; the outcome stays written below it.
        if event.event == "finished":
            self._say("Export finished. " + str(event.get("selfcheck_summary", "")))

    def _export_cancelled(self, _event: Event | None) -> None:
        # Also when the job was killed after the grace period and wrote no cancelled event.
        self._say("Export cancelled: nothing was registered.")

    def _export_finished(self) -> None:
        self.export_strip.bar.hide()
        self.export_strip.cancel_button.hide()
        self.export_strip.say("")
        self._update_buttons()

    def open_folder(self) -> None:
        model_id = self.selected_id()
        if model_id:
            self.context.ops.run(lambda store: get_model(store, model_id),
                                 on_success=self._open, owner=self)

    def _open(self, entry: ModelEntry) -> None:
        path = Path(entry.path)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path if path.is_dir() else path.parent)))

    def delete(self) -> None:
        row = self.tree.current_row()
        if row is None:
            return
        model_id, below = row.id, len(row.subtree()) - 1
        answer = QMessageBox.question(
            self, "Delete model", f"Delete {row.entry.name}"
            + (f" and the {below} models made from it" if below else "")
            + "? Their files inside the data folder are deleted too.")
        if answer == QMessageBox.StandardButton.Yes:
            root = self.context.paths.root
            self.context.ops.run(lambda store: delete_model(store, model_id, root),
                                 changes=Changes(models=True), owner=self,
                                 on_failure=lambda e: self._say(f"Not deleted: {e}"))

    def evaluate(self) -> None:
        EvalDialog(self.context, model_id=self.selected_id(), parent=self).open()

    def _say(self, text: str) -> None:
        self.progress.setText(text)

    def _update_buttons(self) -> None:
        selected, exporting = self.selected_id() is not None, self.export_runner.running
        self.export_button.setEnabled(selected and not exporting)
        self.cancel_button.setEnabled(exporting)
        self.rename_button.setEnabled(selected)
        self.renamer.action.setEnabled(selected)
        self.open_button.setEnabled(selected)
        self.eval_button.setEnabled(selected)
        self.delete_button.setEnabled(selected and not exporting)

    def shutdown(self) -> None:
        self.matrix.shutdown()
        if self.export_runner.running:
            self.export_runner.cancel()
            if not self.export_runner.wait(10_000):
                self.export_runner.kill()
                self.export_runner.wait(3000)
