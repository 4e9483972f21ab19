"""A thin table model over :mod:`studio.db.browse`: it knows the row count and fetches pages
of rows on the store worker as the view asks for them. It never holds the whole table."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal

from studio.app.data import SORT_COLUMNS, BrowseQuery, PromptRow, count_prompts, prompt_page
from ui.ops import Ops

PAGE = 200
MAX_PAGES = 30  # cached pages; older ones are dropped as the view scrolls far away
COLUMNS = [
    ("id", "#"), ("prompt", "Prompt"), ("source", "Source"), ("tags", "Tags"),
    ("turns", "Turns"), ("responses", "Responses"), ("labels", "Labels"),
    ("created", "Added"),
]
Index = QModelIndex | QPersistentModelIndex


class PromptTableModel(QAbstractTableModel):
    loaded = Signal()  # a count or a page arrived (tests wait on it)

    def __init__(self, ops: Ops, parent: Any = None):
        super().__init__(parent)
        self.ops = ops
        self.query = BrowseQuery()
        self.total = 0
        self._pages: dict[int, list[PromptRow]] = {}
        self._asked: set[int] = set()
        self._generation = 0

    # ---- Qt model ----------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.total

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            if row is None:
                return "…" if index.column() == 1 else ""
            return _cell(row, COLUMNS[index.column()][0])
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (0, 4, 5, 6):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and row is not None and index.column() == 1:
            return row.excerpt
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column][0]
        if key in SORT_COLUMNS:
            self.set_query(BrowseQuery(**{**self.query.__dict__, "sort": key,
                                          "descending": order == Qt.SortOrder.DescendingOrder}))

    # ---- paging ------------------------------------------------------------------------
    def row_at(self, row: int) -> PromptRow | None:
        number = row // PAGE
        rows = self._pages.get(number)
        if rows is None:
            self._ask(number)
            return None
        offset = row - number * PAGE
        return rows[offset] if offset < len(rows) else None

    def set_query(self, query: BrowseQuery) -> None:
        self.query = query
        self.reload()

    def reload(self) -> None:
        """Count again and drop cached pages (after a filter change or a data change)."""
        self._generation += 1
        generation, query = self._generation, self.query
        self.ops.read(lambda store: count_prompts(store, query),
                     on_success=lambda total: self._counted(generation, total), owner=self)

    def _counted(self, generation: int, total: int) -> None:
        if generation != self._generation:
            return
        self.beginResetModel()
        self.total, self._pages, self._asked = total, {}, set()
        self.endResetModel()
        self.loaded.emit()

    def _ask(self, number: int) -> None:
        if number in self._asked:
            return
        self._asked.add(number)
        generation, query = self._generation, self.query
        self.ops.read(lambda store: prompt_page(store, query, number * PAGE, PAGE),
                     on_success=lambda rows: self._arrived(generation, number, rows),
                     owner=self)

    def _arrived(self, generation: int, number: int, rows: list[PromptRow]) -> None:
        if generation != self._generation:
            return
        self._pages[number] = rows
        if len(self._pages) > MAX_PAGES:
            farthest = max(self._pages, key=lambda n: abs(n - number))
            del self._pages[farthest]
            self._asked.discard(farthest)
        first = number * PAGE
        last = min(first + PAGE, self.total) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))
        self.loaded.emit()


def _cell(row: PromptRow, key: str) -> Any:
    if key == "prompt":
        return row.excerpt
    if key == "created":
        return row.created_at[:10]
    return getattr(row, key)
