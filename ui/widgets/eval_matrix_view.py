"""The regression matrix on the Models page: every model against every eval set (sortable,
lineage order by default), the cells that are significantly better or worse than the parent
in colour, drift beside them; "Evaluate missing" fills the empty cells as one cancellable chain
of eval jobs (cheapest first, resumable), "Measure drift" runs the drift job of the selected
tuned model, and a double-click on a cell opens its report with the prompts that flipped.

The use cases are ``studio.app.eval_matrix`` and ``studio.evaluation.drift``; this widget only
presents them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from studio.app.eval_matrix import Matrix, eval_matrix, missing_cells
from studio.app.evaluate import DRIFT_MODULE, EvalConfig, drift_config
from studio.db.store import Store
from studio.jobs.launch import write_job
from ui.changes import Changes
from ui.context import AppContext
from ui.item_models.eval_matrix import CELL_ROLE, SORT_ROLE, EvalMatrixModel
from ui.runners.job_runner import JobRunner, JobStrip
from ui.widgets.eval_jobs import EvalChain
from ui.widgets.eval_report import EvalReportWidget


class FlipsDialog(QDialog):
    """One cell's report: both pass rates, the verdict and the prompts that flipped."""

    def __init__(self, context: AppContext, set_name: str, model_id: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{set_name}: against the parent")
        self.report = EvalReportWidget(context, self)
        QVBoxLayout(self).addWidget(self.report)
        self.resize(820, 520)
        self.report.load(set_name, model_id)


class EvalMatrixWidget(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.model = EvalMatrixModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # lineage order
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(self.open_cell)
        self.chain = EvalChain(context, self)
        self.strip = JobStrip(self.chain.runner)
        self.chain.runner.progress.disconnect(self.strip._on_progress)  # one bar: the chain's
        self.chain.overall.connect(self._overall)
        self.chain.step.connect(lambda model_id, done, total: self.strip.say(
            f"evaluating {model_id} {done}/{total}"))
        self.chain.done.connect(lambda: self._ended("Every cell that can run is filled."))
        self.chain.stopped.connect(self._ended)
        self.drift_runner = JobRunner(DRIFT_MODULE, self, context=context,
                                      changes=Changes(models=True))
        self.drift_strip = JobStrip(self.drift_runner)
        self.drift_runner.finished.connect(
            lambda event: self._ended(str(event.get("message", "Drift measured."))))
        self.drift_runner.failed.connect(lambda message: self._ended(f"Drift failed: {message}"))
        self.note = QLabel(objectName="Muted", wordWrap=True)
        self.fill_button = QPushButton("Evaluate missing")
        self.fill_button.setToolTip("Run every model (and its parent, through the same engine)"
                                    " on every set it has no result on; cheapest first. Cancel"
                                    " keeps what is done; evaluating again resumes.")
        self.fill_button.clicked.connect(self.fill)
        self.drift_button = QPushButton("Measure drift")
        self.drift_button.setToolTip("How far the selected tuned model's answers moved from"
                                     " its parent's on prompts it never trained on.")
        self.drift_button.clicked.connect(self.measure_drift)
        buttons = QHBoxLayout()
        for widget in (self.fill_button, self.drift_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(buttons)
        column.addWidget(self.table, 1)
        column.addWidget(self.strip)
        column.addWidget(self.drift_strip)
        column.addWidget(self.note)
        context.changed.connect(lambda changes: changes.models and self.refresh())
        self.refresh()

    def refresh(self) -> None:
        self.context.ops.run(eval_matrix, on_success=self.show_matrix, owner=self)

    def show_matrix(self, matrix: Matrix) -> None:
        self.model.set_matrix(matrix)
        worse = sum(len(r.worse_sets()) for r in matrix.rows)
        self.note.setText("▲/▼: significantly better/worse than the parent on the same prompts"
                          " (paired McNemar, p < 0.05)." +
                          (f" {worse} cell(s) got worse: double-click one for the prompts."
                           if worse else ""))

    def selected_model(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        source = self.proxy.mapToSource(rows[0])
        return self.model.matrix.rows[source.row()].model.id

    def open_cell(self, index: QModelIndex) -> None:
        found = self.proxy.data(index, CELL_ROLE)
        if found:
            FlipsDialog(self.context, found[0], found[1], self).open()

    def fill(self) -> None:
        if self.chain.running:
            return

        def prepare(store: Store) -> list[EvalConfig]:
            return missing_cells(store)[0]

        self.fill_button.setEnabled(False)
        self.strip.started("Evaluating the missing cells…")
        self.chain.start(prepare)

    def measure_drift(self) -> None:
        model_id = self.selected_model()
        if model_id is None or self.drift_runner.running:
            self.note.setText("Select a tuned model's row first.")
            return
        jobs = self.context.paths.root / "jobs"
        self.drift_button.setEnabled(False)
        self.context.ops.run(lambda store: write_job(drift_config(store, model_id), jobs,
                                                     "drift"),
                             on_success=self._start_drift, owner=self,
                             on_failure=lambda error: self._ended(f"No drift: {error}"))

    def _start_drift(self, job_dir: Path) -> None:
        self.drift_runner.start(job_dir)
        self.drift_strip.started("Measuring drift…")

    def _overall(self, done: int, total: int) -> None:
        self.strip.bar.setRange(0, max(total, 1))
        self.strip.bar.setValue(done)

    def _ended(self, message: str) -> None:
        self.fill_button.setEnabled(True)
        self.drift_button.setEnabled(True)
        self.strip.say("")
        self.note.setText(message)
        self.refresh()

    def shutdown(self) -> None:
        for runner in (self.chain.runner, self.drift_runner):
            if runner.running:
                runner.cancel()
                if not runner.wait(10_000):
                    runner.kill()
                    runner.wait(3000)
