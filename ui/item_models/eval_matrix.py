"""A thin table model over the regression matrix (``studio.app.eval_matrix.Matrix``, read on
the store worker): a row per model in lineage order, a column per eval set, then drift.

Sorting goes through a ``QSortFilterProxyModel`` on :data:`SORT_ROLE`: the model column sorts
by lineage order, a set's column by pass rate, the drift column by KL."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from studio.app.eval_matrix import Cell, Matrix, MatrixRow

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole
CELL_ROLE = Qt.ItemDataRole.UserRole + 1  # (set name, model id) of a set's cell
MARK_COLOURS = {"better": QColor("#2e7d32"), "worse": QColor("#c62828")}


def cell_tooltip(found: Cell, row: MatrixRow) -> str:
    if found.score is None:
        return f"{row.model.name} has no completed run on {found.set_name}."
    i = found.score.interval
    lines = [f"{found.set_name}: {i.rate:.1%} passed, 95% interval {i.low:.1%}-{i.high:.1%},"
             f" n = {i.n}", f"engine {found.score.engine or 'transformers'};"
             f" grader {found.graders}"]
    if found.comparison is not None:
        lines.append(f"against its parent (same prompts, same engine): "
                     f"{found.comparison.verdict}")
        if found.comparison.flips:
            lines.append("Double-click for the prompts that flipped.")
    elif row.model.parent_id:
        lines.append("Its parent has no run through the same engine: evaluate the missing"
                     " cells to compare.")
    return "\n".join(lines)


class EvalMatrixModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.matrix = Matrix([], [])

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.matrix.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.matrix.sets) + 2

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        sets = self.matrix.sets
        if role == Qt.ItemDataRole.DisplayRole:
            if section == 0:
                return "Model"
            return sets[section - 1].name if section <= len(sets) else "Drift"
        if role == Qt.ItemDataRole.ToolTipRole and 0 < section <= len(sets):
            found = sets[section - 1]
            return f"{found.size} prompts, grader {found.grader}"
        if role == Qt.ItemDataRole.ToolTipRole and section == len(sets) + 1:
            return ("Mean per-token KL of the tuned model from its parent on the parent's own"
                    " answers to untrained prompts (nats): no grader needed.")
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.matrix.rows):
            return None
        row, column = self.matrix.rows[index.row()], index.column()
        if column == 0:
            return self._model_data(row, role)
        if column > len(self.matrix.sets):
            return self._drift_data(row, role)
        found = row.cells[self.matrix.sets[column - 1].name]
        if role == Qt.ItemDataRole.DisplayRole:
            return found.text()
        if role == Qt.ItemDataRole.ToolTipRole:
            return cell_tooltip(found, row)
        if role == Qt.ItemDataRole.ForegroundRole and found.mark:
            return QBrush(MARK_COLOURS[found.mark])
        if role == SORT_ROLE:
            return -1.0 if found.score is None else found.score.interval.rate
        if role == CELL_ROLE:
            return found.set_name, row.model.id
        return None

    @staticmethod
    def _model_data(row: MatrixRow, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return "    " * row.depth + row.model.name
        if role == Qt.ItemDataRole.ToolTipRole:
            worse = row.worse_sets()
            return f"{row.model.kind} {row.model.id}" + (
                f"\nsignificantly worse than its parent on {', '.join(worse)}" if worse else "")
        if role == SORT_ROLE:
            return row.order
        return None

    @staticmethod
    def _drift_data(row: MatrixRow, role: int) -> Any:
        drift = row.drift
        if role == Qt.ItemDataRole.DisplayRole:
            return "—" if drift is None else f"{drift.kl:.3f}: {drift.words()}"
        if role == Qt.ItemDataRole.ToolTipRole and drift is not None:
            return (f"KL {drift.kl:.4f} nats/token over {drift.n_tokens} tokens of"
                    f" {drift.n_prompts} untrained prompts; log-likelihood of the parent's"
                    f" answers down {drift.nll_drop:.3f} nats/token")
        if role == SORT_ROLE:
            return -1.0 if drift is None else drift.kl
        return None

    def set_matrix(self, matrix: Matrix) -> None:
        self.beginResetModel()
        self.matrix = matrix
        self.endResetModel()
