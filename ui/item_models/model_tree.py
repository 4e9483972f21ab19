"""A thin tree model over the model registry's lineage: typed :class:`ModelRow` records, one
per model, its children under it.

The records carry everything a cell shows, including whether the model's files are gone
(``missing``), which the Models page checks on the I/O pool and hands in with
:meth:`ModelTreeModel.mark_missing`: drawing never touches the disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from studio.app.evaluate import Score
from studio.app.models import ModelEntry, ModelNode
from ui.item_models.eval_scores import scores_cell, scores_tooltip

COLUMNS = ("Name", "Kind", "Quant", "Size", "Self-check", "Created", "Eval")
CHECK_COLUMN, EVAL_COLUMN = 4, 6
MODEL_ID_ROLE = Qt.ItemDataRole.UserRole
Index = QModelIndex | QPersistentModelIndex


@dataclass(eq=False)
class ModelRow:
    entry: ModelEntry
    scores: list[Score] = field(default_factory=list)  # the latest eval scores
    children: list[ModelRow] = field(default_factory=list)
    parent: ModelRow | None = None
    missing: bool = False  # the files are gone (checked on the I/O pool)

    @property
    def id(self) -> str:
        return self.entry.id

    def text(self, column: int) -> str:
        entry = self.entry
        cells = (entry.name, entry.kind + (" (LoRA)" if entry.meta.get("role") == "lora" else ""),
                 entry.quant or "", _size(entry.size_bytes),
                 _verdict(entry.selfcheck) if entry.selfcheck else "",
                 entry.created_at[:16].replace("T", " "), scores_cell(self.scores))
        return cells[column]

    def tooltip(self, column: int) -> str | None:
        if column == 0 and self.missing:
            return f"missing on disk: {self.entry.path}"
        if column == CHECK_COLUMN and self.entry.selfcheck:
            return check_summary(self.entry.selfcheck)
        if column == EVAL_COLUMN:
            return scores_tooltip(self.scores)
        return None

    def subtree(self) -> list[ModelRow]:
        found = [self]
        for child in self.children:
            found.extend(child.subtree())
        return found


def build_rows(roots: list[ModelNode], scores: dict[str, list[Score]],
               parent: ModelRow | None = None) -> list[ModelRow]:
    rows = []
    for node in roots:
        row = ModelRow(node.entry, scores.get(node.entry.id, []), parent=parent)
        row.children = build_rows(node.children, scores, row)
        rows.append(row)
    return rows


class ModelTreeModel(QAbstractItemModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.roots: list[ModelRow] = []

    # ---- Qt model ----------------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        siblings = self._children(parent)
        if 0 <= row < len(siblings) and 0 <= column < len(COLUMNS):
            return self.createIndex(row, column, siblings[row])
        return QModelIndex()

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        row = self.row_at(index)
        if row is None or row.parent is None:
            return QModelIndex()
        up = row.parent
        siblings = up.parent.children if up.parent is not None else self.roots
        return self.createIndex(siblings.index(up), 0, up)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._children(parent))

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index)
        if row is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return row.text(index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip(index.column())
        if role == MODEL_ID_ROLE:
            return row.id
        return None

    # ---- records -----------------------------------------------------------------------
    def set_roots(self, roots: list[ModelRow]) -> None:
        self.beginResetModel()
        self.roots = roots
        self.endResetModel()

    def mark_missing(self, missing: set[str]) -> None:
        for row in self.rows():
            if (row.id in missing) != row.missing:
                row.missing = row.id in missing
                index = self.index_of(row.id)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.ToolTipRole])

    def rows(self) -> list[ModelRow]:
        """Every model, depth first."""
        return [row for root in self.roots for row in root.subtree()]

    def row_at(self, index: Index) -> ModelRow | None:
        row = index.internalPointer() if index.isValid() else None
        return row if isinstance(row, ModelRow) else None

    def index_of(self, model_id: str) -> QModelIndex:
        for row in self.rows():
            if row.id == model_id:
                siblings = row.parent.children if row.parent is not None else self.roots
                return self.createIndex(siblings.index(row), 0, row)
        return QModelIndex()

    def _children(self, parent: Index) -> list[ModelRow]:
        row = self.row_at(parent)
        return row.children if row is not None else self.roots if not parent.isValid() else []


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
