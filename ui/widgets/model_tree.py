"""The model registry as a lineage tree: one row per model, its children under it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from studio.evaluation.summary import Score
from studio.registry import models
from ui.widgets.eval_scores import scores_cell, scores_tooltip

COLUMNS = ("Name", "Kind", "Quant", "Size", "Self-check", "Created", "Eval")
EVAL_COLUMN = 6
MISSING_PATH_ROLE = Qt.ItemDataRole.UserRole + 1  # the path named when the files are gone


class ModelTreeWidget(QTreeWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(list(COLUMNS))
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):  # short values: never cut, no side scrolling
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)

    def show_roots(self, roots: list[models.ModelNode],
                   scores: dict[str, list[Score]] | None = None) -> None:
        """Fill the tree anew (with each model's latest eval scores); the selected model stays
        selected."""
        current = self.selected_id()
        self.clear()
        for node in roots:
            self.addTopLevelItem(_item(node, scores or {}))
        self.expandAll()
        for item in self.items():
            if item.data(0, Qt.ItemDataRole.UserRole) == current:
                self.setCurrentItem(item)

    def mark_missing(self, missing: set[str]) -> None:
        """Say which models' files are gone (checked on the I/O pool, not while drawing)."""
        for item in self.items():
            model_id = item.data(0, Qt.ItemDataRole.UserRole)
            if model_id in missing:
                item.setToolTip(0, f"missing on disk: {item.data(0, MISSING_PATH_ROLE)}")

    def items(self) -> list[QTreeWidgetItem]:
        found, stack = [], [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        while stack:
            item = stack.pop()
            found.append(item)
            stack.extend(item.child(i) for i in range(item.childCount()))
        return found

    def selected_id(self) -> str | None:
        item = self.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None


def subtree(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    found = [item]
    for i in range(item.childCount()):
        found.extend(subtree(item.child(i)))
    return found


def _item(node: models.ModelNode, scores: dict[str, list[Score]]) -> QTreeWidgetItem:
    entry = node.entry
    check = entry.selfcheck or {}
    verdict = _verdict(check) if check else ""
    kind = entry.kind + (" (LoRA)" if entry.meta.get("role") == "lora" else "")
    item = QTreeWidgetItem([entry.name, kind, entry.quant or "", _size(entry.size_bytes),
                            verdict, entry.created_at[:16].replace("T", " "),
                            scores_cell(scores.get(entry.id, []))])
    item.setData(0, Qt.ItemDataRole.UserRole, entry.id)
    item.setData(0, MISSING_PATH_ROLE, entry.path)
    item.setToolTip(EVAL_COLUMN, scores_tooltip(scores.get(entry.id, [])))
    if check:
        item.setToolTip(4, check_summary(check))
    for child in node.children:
        item.addChild(_item(child, scores))
    return item


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
