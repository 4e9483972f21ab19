"""A thin list model over the run history: typed :class:`RunRow` records, nothing else.

The records carry what needs the disk (whether Resume is offered looks for a checkpoint in the
run folder), computed on the store worker with the run list, so drawing the list or enabling a
button never touches the file system on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from studio.app.runs import Run

Index = QModelIndex | QPersistentModelIndex
RUN_ID_ROLE = Qt.ItemDataRole.UserRole


@dataclass(frozen=True)
class RunRow:
    run: Run
    # Checked on the store worker with the run list (``Run.offers_resume`` looks for a
    # checkpoint on disk); never asked while drawing.
    offers_resume: bool = False


class RunListModel(QAbstractListModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[RunRow] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        run = self.rows[index.row()].run
        if role == Qt.ItemDataRole.DisplayRole:
            return history_text(run)
        if role == Qt.ItemDataRole.ToolTipRole:
            return run.error or str(run.run_dir)
        if role == RUN_ID_ROLE:
            return run.id
        return None

    def set_rows(self, rows: list[RunRow]) -> None:
        """The same runs in the same order update in place (the selection stays); a new or
        removed run resets the list, and the view's owner selects again by id."""
        if [r.run.id for r in rows] == self.ids():
            self.rows = list(rows)
            if rows:
                self.dataChanged.emit(self.index(0), self.index(len(rows) - 1))
            return
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def ids(self) -> list[str]:
        return [row.run.id for row in self.rows]

    def row_of(self, run_id: str) -> int:
        ids = self.ids()
        return ids.index(run_id) if run_id in ids else -1


def history_text(run: Run) -> str:
    metrics = run.metrics or {}
    accuracy = metrics.get("eval_rewards/accuracies")
    summary = f" · held-out acc {accuracy:.2f}" if isinstance(accuracy, (int, float)) else ""
    loss = metrics.get("eval_loss")
    summary += f" · eval loss {loss:.3f}" if isinstance(loss, (int, float)) else ""
    return f"{run.id} · {run.method.upper()} · {run.status}{summary}"
