"""The Data page's prompt table: row selection, sorting and column widths that fit 1280x800."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from ui.item_models.prompt_table import PromptTableModel

# Narrow fixed columns (the Prompt column stretched to 4 characters at 1280x800).
COLUMN_WIDTHS = ((0, 44), (2, 84), (3, 70), (4, 40), (5, 60), (6, 48), (7, 84))
# Dropped first when the table is narrow (a 1024 px window): the prompt keeps 20 characters.
OPTIONAL_COLUMNS = (4, 7)  # Turns, Added
PROMPT_CHARS = 20


class PromptTableView(QTableView):
    def __init__(self, model: PromptTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Several rows: the Generate and Judge dialogs offer "selected prompts" as a scope.
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSortingEnabled(True)
        self.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(26)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(40)
        metrics, padding = header.fontMetrics(), 18  # room for the sort arrow
        for column, width in COLUMN_WIDTHS:
            title = str(model.headerData(column, Qt.Orientation.Horizontal))
            self.setColumnWidth(column, max(width, metrics.horizontalAdvance(title) + padding))
        # Measured once, while no column is hidden (a hidden column's width reads 0).
        self._fixed_width = sum(self.columnWidth(c) for c, _ in COLUMN_WIDTHS)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Hide Turns and Added when the Prompt column would get under 20 characters."""
        super().resizeEvent(event)
        room = self.viewport().width() - self._fixed_width
        narrow = room < PROMPT_CHARS * self.fontMetrics().averageCharWidth()
        for column in OPTIONAL_COLUMNS:
            self.setColumnHidden(column, narrow)
