"""Add a base model: the GGUFs found where people keep them (Ollama, LM Studio, the Hugging
Face cache, a picked folder) with architecture, size, quantization and context length shown
before anything is converted; or a Hugging Face model folder as it is.

Scanning and header reading run on the store worker (a header takes 0.1-0.4 s); the conversion
is the ``gguf_import`` job, followed by a :class:`JobRunner`. A refusal (truncated file,
unsupported architecture, no tokenizer or template) is shown on the row, and nothing is
registered.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.app.add_model import AddPlan, FoundRow, plan_add_model, scan_ggufs
from studio.events import Event
from ui.context import AppContext, Changes
from ui.runners.job_runner import JobRunner, JobStrip

COLUMNS = ("Model", "Found in", "Architecture", "Parameters", "Quantization", "Size", "Context",
           "Can be tuned")
SOURCES = {"ollama": "Ollama", "lmstudio": "LM Studio", "hf-cache": "HF cache",
           "folder": "Picked folder"}
class AddModelDialog(QDialog):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.folders: list[Path] = []
        self.rows: list[FoundRow] = []
        self.setWindowTitle("Add a base model")
        self.setMinimumSize(900, 420)
        layout = QVBoxLayout(self)
        intro = QLabel("Pick a GGUF you already have: it is converted into a model that can be"
                       " tuned (its original file is left alone), and the tuned result exports"
                       " back to GGUF at the same quantization.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = QTreeWidget()
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setRootIsDecorated(False)
        self.table.itemSelectionChanged.connect(self._selected)
        layout.addWidget(self.table, 1)
        self.message = QLabel(objectName="Muted")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.runner = JobRunner("gguf_import", self, context=context,
                                changes=Changes(models=True))
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(lambda text: self._say(f"Not added: {text}"))
        self.runner.ended.connect(self._update_button)
        self.strip = JobStrip(self.runner)
        layout.addWidget(self.strip)
        layout.addWidget(self._buttons())
        self.rescan()

    def _buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox()
        self.folder_button = QPushButton("Look in a folder…")
        self.hf_button = QPushButton("Add a Hugging Face folder…")
        self.add_button = QPushButton("Convert and add")
        self.add_button.setProperty("primary", True)
        self.add_button.setEnabled(False)
        for button, slot in ((self.folder_button, self.pick_folder),
                             (self.hf_button, self.add_hf_folder), (self.add_button, self.add)):
            button.clicked.connect(slot)
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        return buttons

    # ---- listing -----------------------------------------------------------------------
    def rescan(self) -> None:
        self._say("Looking for GGUF files…")
        folders = list(self.folders)
        self.context.ops.run(lambda _store: scan_ggufs(folders), on_success=self._show,
                             on_failure=lambda e: self._say(f"Could not look: {e}"), owner=self)

    def _show(self, rows: list[FoundRow]) -> None:
        self.rows = rows
        self.table.clear()
        for row in rows:
            found, info, refusal = row.found, row.info, row.refusal
            cells = [found.name, SOURCES.get(found.source, found.source)]
            if info is not None:
                cells += [info.architecture, f"{info.params / 1e6:.0f}M", info.quant,
                          f"{info.size_bytes / 2**20:.0f} MiB", str(info.context_length or "?")]
            else:
                cells += ["?"] * 5
            cells.append("yes" if refusal is None else "no")
            item = QTreeWidgetItem(cells)
            item.setToolTip(0, str(found.path))
            item.setToolTip(len(COLUMNS) - 1, refusal or "")
            self.table.addTopLevelItem(item)
        for column in range(len(COLUMNS)):
            self.table.resizeColumnToContents(column)
        self._say(f"{len(rows)} GGUF files found." if rows else
                  "No GGUF files found in Ollama, LM Studio or the Hugging Face cache;"
                  " look in a folder, or add a Hugging Face model folder.")

    def pick_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder with GGUF files")
        if folder:
            self.folders.append(Path(folder))
            self.rescan()

    def _current(self) -> FoundRow | None:
        index = self.table.indexOfTopLevelItem(self.table.currentItem())
        return self.rows[index] if 0 <= index < len(self.rows) else None

    def _update_button(self) -> None:
        row = self._current()
        self.add_button.setEnabled(row is not None and row.refusal is None
                                    and not self.runner.running)

    def _selected(self) -> None:
        self._update_button()
        row = self._current()
        if row is not None and not self.runner.running:
            summary = row.info.summary() if row.info is not None else str(row.found.path)
            self._say(row.refusal or "; ".join([summary, *row.warnings]))

    # ---- adding ------------------------------------------------------------------------
    def add(self) -> None:
        row = self._current()
        if row is None or row.refusal is not None or self.runner.running:
            return
        paths, gguf = self.context.paths, row.found.path
        self.add_button.setEnabled(False)
        # Reads the registry (a GGUF added before is not converted again): the store worker.
        self.context.ops.run(lambda store: plan_add_model(store, paths, gguf), owner=self,
                             on_success=self._carry_out,
                             on_failure=lambda e: (self._say(f"Not added: {e}"),
                                                   self._update_button()))

    def _carry_out(self, plan: AddPlan) -> None:
        if plan.job is None:
            name = plan.entry.name if plan.entry is not None else "the model"
            self._say(f"{plan.note or 'Added'}: it is registered as {name}.")
            self._update_button()
            return
        self._say(plan.note[:1].upper() + plan.note[1:] + "…")
        self.runner.start(plan.job)

    def _finished(self, event: Event) -> None:
        warnings = [str(w) for w in event.get("warnings") or []]
        self._say(f"Added as a base model ({event.get('model_id')}). " + " ".join(warnings))

    def add_hf_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Hugging Face model folder")
        if folder:
            self.add_folder(Path(folder))

    def add_folder(self, folder: Path) -> None:
        paths = self.context.paths
        self.context.ops.run(lambda store: plan_add_model(store, paths, folder), owner=self,
                             changes=Changes(models=True),
                             on_success=lambda plan: self._say(f"Added {plan.entry.name}."
                                                               if plan.entry else plan.note),
                             on_failure=lambda e: self._say(f"Not added: {e}"))

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def reject(self) -> None:
        if self.runner.running:
            self.runner.cancel()
            self.runner.wait(30_000)
        super().reject()
