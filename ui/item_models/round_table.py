"""A thin table model over the rounds board: :class:`studio.rounds.board.RoundRow` records,
read on the store worker, shown as they are."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from studio.app.rounds import COLUMNS, RoundRow

Index = QModelIndex | QPersistentModelIndex
ROUND_ID_ROLE = Qt.ItemDataRole.UserRole


class RoundTableModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[RoundRow] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.cells()[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 0:
            return row.round.notes or f"started {row.round.created_at[:16]}"
        if role == ROUND_ID_ROLE:
            return row.round.id
        return None

    def set_rows(self, rows: list[RoundRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def row_of(self, round_id: int) -> int:
        ids = [row.round.id for row in self.rows]
        return ids.index(round_id) if round_id in ids else -1
