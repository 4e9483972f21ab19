"""Models: the registry as a lineage tree, details, and Export / Open folder / Delete.

Export is a job (``studio.registry.export_config``) run by the generic ``JobRunner``: its
events show under the tree, Cancel is the job's stop mechanism, and the backend registers its
results itself at the very end, so a cancelled export leaves nothing registered.
"""

from __future__ import annotations

import html
import json
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.events import Event
from studio.registry import models
from studio.registry.export_config import create_export_job
from ui.context import AppContext, Changes
from ui.dialogs.add_model_dialog import AddModelDialog
from ui.runners.job_runner import JobRunner
from ui.widgets.rounds_view import RoundsView

COLUMNS = ("Name", "Kind", "Quant", "Size", "Self-check", "Created")
NO_SELECTION = ("Select a model to see where it came from: its training run, the labels"
                " snapshot it learned from, and its export self-check.")
# Besides F16, which is always written and self-checked against transformers. Sizes are of F16.
EXPORT_CHOICES = {"Q8_0": "54%; near-lossless", "Q6_K": "42%", "Q5_K_M": "37%",
                  "Q4_K_M": "32%; the usual choice", "Q4_0": "29%; fastest on older CPUs"}
DEFAULT_QUANTS = ("Q4_K_M",)


class GGUFExportDialog(QDialog):
    """Which GGUF files to write: F16 always, any quantizations, the adapter-only GGUF."""

    def __init__(self, entry: models.ModelEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Export {entry.name} to GGUF")
        layout = QVBoxLayout(self)
        always = QCheckBox("F16 (always written, and self-checked against transformers)")
        always.setChecked(True)
        always.setEnabled(False)
        layout.addWidget(always)
        layout.addWidget(QLabel("Quantized copies (each checked against the F16 file):"))
        self.quant_boxes: dict[str, QCheckBox] = {}
        for quant, note in EXPORT_CHOICES.items():
            size, _, hint = note.partition("; ")
            box = QCheckBox(f"{quant}  (about {size} of F16's size{', ' + hint if hint else ''})")
            box.setChecked(quant in DEFAULT_QUANTS)
            self.quant_boxes[quant] = box
            layout.addWidget(box)
        self.lora_box = QCheckBox("Adapter-only GGUF (chat with base + adapter, unmerged)")
        self.lora_box.setToolTip("A small file that llama.cpp applies on top of the base"
                                 " model's GGUF at load time.")
        self.lora_box.setChecked(entry.kind == "adapter")
        self.lora_box.setEnabled(entry.kind == "adapter")
        layout.addWidget(self.lora_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def quants(self) -> list[str]:
        """The ticked quantizations; ``["F16"]`` (F16 alone) when none is ticked."""
        return [q for q, box in self.quant_boxes.items() if box.isChecked()] or ["F16"]

    def lora_gguf(self) -> bool:
        return self.lora_box.isEnabled() and self.lora_box.isChecked()


class ModelsPage(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.export_runner = JobRunner("export", self, grace_ms=10_000)
        self.export_runner.event.connect(self._on_export_event)
        self.export_runner.failed.connect(lambda message: self._say(f"Export failed: {message}"))
        self.export_runner.ended.connect(self._export_finished)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):  # short values: never cut, no side scrolling
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(lambda *_: self._show_details())
        self.details = QTextBrowser(objectName="Card")
        self.details.setPlaceholderText(NO_SELECTION)
        self.progress = QLabel("", objectName="Muted")
        self.progress.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)  # as the other pages
        layout.addWidget(QLabel("Models", objectName="PageTitle"))
        layout.addLayout(self._buttons())
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.details)
        splitter.setSizes([700, 400])
        self.rounds = RoundsView(context)
        rows = QSplitter(Qt.Orientation.Vertical)
        rows.addWidget(splitter)
        rows.addWidget(self.rounds)
        rows.setSizes([420, 220])
        layout.addWidget(rows, 1)
        layout.addWidget(self.progress)
        context.changed.connect(lambda changes: changes.models and self.refresh())
        self.refresh()

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.add_button = QPushButton("Add base model…")
        self.export_button = QPushButton("Export to GGUF…")
        self.cancel_button = QPushButton("Cancel export")
        self.open_button = QPushButton("Open folder")
        self.delete_button = QPushButton("Delete…")
        for button, slot in ((self.add_button, self.add_base), (self.export_button, self.export),
                             (self.cancel_button, self.cancel_export),
                             (self.open_button, self.open_folder),
                             (self.delete_button, self.delete)):
            button.clicked.connect(slot)
            row.addWidget(button)
        row.addStretch(1)
        self.cancel_button.setEnabled(False)
        return row

    # ---- tree --------------------------------------------------------------------------
    def refresh(self) -> None:
        self.context.ops.run(models.model_tree, on_success=self._show_tree, owner=self)

    def _show_tree(self, roots: list[models.ModelNode]) -> None:
        current = self.selected_id()
        self.tree.clear()
        for node in roots:
            self.tree.addTopLevelItem(self._item(node))
        self.tree.expandAll()
        for item in self._items():
            if item.data(0, Qt.ItemDataRole.UserRole) == current:
                self.tree.setCurrentItem(item)
        self._update_buttons()

    def _item(self, node: models.ModelNode) -> QTreeWidgetItem:
        entry = node.entry
        check = entry.selfcheck or {}
        verdict = _verdict(check) if check else ""
        kind = entry.kind + (" (LoRA)" if entry.meta.get("role") == "lora" else "")
        item = QTreeWidgetItem([entry.name, kind, entry.quant or "", _size(entry.size_bytes),
                                verdict, entry.created_at[:16].replace("T", " ")])
        item.setData(0, Qt.ItemDataRole.UserRole, entry.id)
        if check:
            item.setToolTip(4, check_summary(check))
        if not entry.exists and not entry.is_hub:
            item.setToolTip(0, f"missing on disk: {entry.path}")
        for child in node.children:
            item.addChild(self._item(child))
        return item

    def _items(self) -> list[QTreeWidgetItem]:
        found, stack = [], [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        while stack:
            item = stack.pop()
            found.append(item)
            stack.extend(item.child(i) for i in range(item.childCount()))
        return found

    def selected_id(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def _show_details(self) -> None:
        self._update_buttons()
        model_id = self.selected_id()
        if not model_id:
            self.rounds.set_selected_model(None)
            self.details.clear()
        if model_id:
            self.context.ops.run(lambda store: models.model_details(store, model_id),
                                 on_success=self._render_details, owner=self)

    def _render_details(self, details: dict[str, Any]) -> None:
        entry: models.ModelEntry = details["model"]
        self.rounds.set_selected_model(entry)
        esc = html.escape
        lines = [f"<h3>{esc(entry.name)}</h3>", f"<p><b>{entry.kind}</b> · {esc(entry.path)}</p>",
                 "<p>Lineage: " + " → ".join(esc(e.name) for e in details["lineage"]) + "</p>"]
        if entry.selfcheck:
            check = entry.selfcheck
            color = "" if check.get("passed") else " style='color:#c0392b'"
            lines.append(f"<p><b>Self-check</b></p><p{color}>{esc(check_summary(check))}</p>"
                         + _facts({k: v for k, v in check.items() if k != "summary"}))
        for key in ("run", "snapshot"):
            if isinstance(details.get(key), dict):
                lines.append(f"<p><b>{key.title()}</b></p>" + _facts(details[key]))
        self.details.setHtml("".join(lines))

    # ---- actions -----------------------------------------------------------------------
    def add_base(self) -> None:
        AddModelDialog(self.context, self).open()  # GGUFs found on disk, or an HF folder

    def export(self) -> None:
        model_id = self.selected_id()
        if model_id:
            self.context.ops.run(lambda store: models.get_model(store, model_id),
                                 on_success=self._ask_export, owner=self)

    def _ask_export(self, entry: models.ModelEntry) -> None:
        if entry.kind not in ("base", "adapter", "merged"):
            self._say("Pick a base model, an adapter or a merged model to export.")
            return
        dialog = GGUFExportDialog(entry, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.start_export(entry, dialog.quants(), dialog.lora_gguf())

    def start_export(self, entry: models.ModelEntry, quants: list[str],
                     lora_gguf: bool = False) -> None:
        source = {"adapter" if entry.kind == "adapter" else "model": entry.path}
        job = create_export_job(self.context.paths.exports, db=self.context.paths.db,
                                parent_id=entry.id, quants=quants,
                                lora_gguf=lora_gguf and entry.kind == "adapter", **source)
        self.export_runner.start(job)
        self._say(f"Exporting {entry.name}…")
        self._update_buttons()

    def _on_export_event(self, event: Event) -> None:
        if event.event == "progress":
            self._say(f"Export: {event.get('message')} ({event.get('done')}/"
                      f"{event.get('total')})")
        elif event.event == "finished":
            self._say("Export finished. " + str(event.get("selfcheck_summary", "")))
        elif event.event == "cancelled":
            self._say(f"Export cancelled: {event.get('message')}")

    def _export_finished(self) -> None:
        self._changed()
        self._update_buttons()

    def cancel_export(self) -> None:
        self.export_runner.cancel()  # the backend cleans up and registers nothing

    def open_folder(self) -> None:
        model_id = self.selected_id()
        if model_id:
            self.context.ops.run(lambda store: models.get_model(store, model_id),
                                 on_success=self._open, owner=self)

    def _open(self, entry: models.ModelEntry) -> None:
        from pathlib import Path

        path = Path(entry.path)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path if path.is_dir() else path.parent)))

    def delete(self) -> None:
        item = self.tree.currentItem()
        if item is None:
            return
        model_id, below = item.data(0, Qt.ItemDataRole.UserRole), len(self._subtree(item)) - 1
        answer = QMessageBox.question(
            self, "Delete model", f"Delete {item.text(0)}"
            + (f" and the {below} models made from it" if below else "")
            + "? Their files inside the data folder are deleted too.")
        if answer == QMessageBox.StandardButton.Yes:
            root = self.context.paths.root
            self.context.ops.run(lambda store: models.delete_model(store, model_id, root),
                                 on_success=lambda _: self._changed(), owner=self,
                                 on_failure=lambda e: self._say(f"Not deleted: {e}"))

    def _subtree(self, item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
        found = [item]
        for i in range(item.childCount()):
            found.extend(self._subtree(item.child(i)))
        return found

    def _changed(self) -> None:
        self.context.announce(Changes(models=True))

    def _say(self, text: str) -> None:
        self.progress.setText(text)

    def _update_buttons(self) -> None:
        selected, exporting = self.selected_id() is not None, self.export_runner.running
        self.export_button.setEnabled(selected and not exporting)
        self.cancel_button.setEnabled(exporting)
        self.open_button.setEnabled(selected)
        self.delete_button.setEnabled(selected and not exporting)

    def shutdown(self) -> None:
        if self.export_runner.running:
            self.export_runner.cancel()
            if not self.export_runner.wait(10_000):
                self.export_runner.kill()
                self.export_runner.wait(3000)

def _verdict(check: dict[str, Any]) -> str:
    """The tree's short Self-check cell; the tooltip and the details say why in full."""
    against = "HF" if check.get("reference") == "hf" else "F16"
    if check.get("passed"):
        return f"✓ {check.get('share', 0):.0%} vs {against}"
    if not check.get("tokenizer_match", True):
        return "✗ tokenizer differs"
    if check.get("chat_template") is False:
        return "✗ no chat template"
    return f"✗ {check.get('share', 0):.0%} vs {against}"


def check_summary(check: dict[str, Any]) -> str:
    """The self-check in plain words: the backend's own summary (it says why a check failed);
    for records written before it kept one, a line rebuilt from the numbers."""
    if check.get("summary"):
        return str(check["summary"])
    against = "transformers" if check.get("reference") == "hf" else "the F16 GGUF"
    verdict = "passed" if check.get("passed") else "MISMATCH"
    why = "" if check.get("tokenizer_match", True) else " (the tokenizer differs)"
    return f"{verdict}: {check.get('share', 0):.0%} of greedy tokens agree with {against}{why}"


def _size(size: int | None) -> str:
    if not size:
        return ""
    return f"{size / 1e9:.2f} GB" if size > 1e9 else f"{size / 1e6:.1f} MB"


def _facts(record: dict[str, Any], prefix: str = "") -> str:
    """A record as a two-column table (nested keys as "config · lr"): easier to read than
    JSON, and every value is still there."""
    rows = []
    for key, value in record.items():
        name = f"{prefix}{key}".replace("_", " ")
        if isinstance(value, dict):
            rows.append(_facts(value, f"{name} · "))
        elif value not in (None, "", [], {}):
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            rows.append(f"<tr><td style='color:gray;padding-right:10px'>{html.escape(name)}"
                        f"</td><td>{html.escape(str(shown))}</td></tr>")
    body = "".join(rows)
    return body if prefix else f"<table cellspacing='0'>{body}</table>"
