"""The Train page's right column: the shown run live (status, progress, curves, log) and the
run history, where selecting several runs overlays their curves.

The history is a :class:`RunListModel` of records read on the store worker (Resume's
checkpoint lookup included) in a list view; the selection is kept by run id across refreshes.

An :class:`EventTailer` follows the first selected run's events.jsonl; the others' events are
read once on the store worker. The panel asks the page to re-read the run list
(``refresh_requested``) when a run is cancelled or resumed, and says when the shown run ended
(``run_ended``), which advances the queue.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QSignalBlocker, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.app.runs import Run, cancel_run, describe
from studio.app.training import resume_training
from studio.events import Event, read_events
from ui.context import AppContext
from ui.item_models.run_list import RUN_ID_ROLE, RunListModel, RunRow
from ui.pages.train_text import status_html
from ui.runners.process_runner import EventTailer
from ui.widgets.bundle_button import BundleButton
from ui.widgets.eval_after import EvalRunSummaryLabel
from ui.widgets.flow_layout import FlowLayout, flow_policy
from ui.widgets.grpo_completions import CompletionsTableWidget
from ui.widgets.plots import MetricsPlotWidget
from ui.widgets.run_speed import RunSpeed


class RunPanel(QWidget):
    refresh_requested = Signal(str)  # the run id to select, or "" to keep the selection
    run_ended = Signal()  # the shown run wrote its terminal event

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.current: Run | None = None
        self.runs_by_id: dict[str, Run] = {}
        self.rows_by_id: dict[str, RunRow] = {}
        self.run_list = RunListModel(self)
        self.tailer: EventTailer | None = None
        self.speed = RunSpeed()  # tokens/s and ETA of the shown run, from its step events
        column = QVBoxLayout(self)
        self.status = QLabel("No run selected", objectName="runStatus", wordWrap=True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        column.addWidget(self.status)
        self.eval_summary = EvalRunSummaryLabel(context)  # before/after on the eval sets
        column.addWidget(self.eval_summary)
        bar_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setFormat("step %v / %m")
        self.eta = QLabel(objectName="Muted")
        bar_row.addWidget(self.progress, 1)
        bar_row.addWidget(self.eta)
        column.addLayout(bar_row)
        column.addWidget(self._buttons())
        self.plots = MetricsPlotWidget()
        column.addWidget(self.plots, 3)
        self.completions = CompletionsTableWidget()  # GRPO's sampled answers, when any
        self.completions.setVisible(False)
        column.addWidget(self.completions, 2)
        column.addWidget(QLabel("Runs (select several to overlay their curves)"))
        column.addWidget(self._lower(), 2)
        self._show_buttons()

    def _buttons(self) -> QWidget:
        # A flow: four buttons in a row kept the panel 472 px wide, and at 1024 px the
        # window cut the run panel; they wrap instead.
        row = flow_policy(QWidget())
        buttons = FlowLayout(row)
        self.cancel_button = QPushButton("Cancel")
        self.resume_button = QPushButton("Resume")
        self.folder_button = QPushButton("Open run folder")
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(self.resume)
        self.folder_button.clicked.connect(self.open_folder)
        self.bundle_button = BundleButton(self.context)
        for button in (self.cancel_button, self.resume_button, self.folder_button,
                       self.bundle_button):
            buttons.addWidget(button)
        return row

    def _lower(self) -> QSplitter:
        lower = QSplitter(Qt.Orientation.Horizontal)
        self.history = QListView(objectName="history")
        self.history.setModel(self.run_list)
        self.history.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.history.selectionModel().selectionChanged.connect(lambda *_: self._on_selection())
        self.log = QPlainTextEdit(readOnly=True, objectName="log")
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)  # long errors wrap
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log.setMaximumBlockCount(5000)
        lower.addWidget(self.history)
        lower.addWidget(self.log)
        return lower

    # ---- actions -----------------------------------------------------------------------
    def cancel(self) -> None:
        if self.current is not None:
            run_id = self.current.id
            self.status.setText("Stopping: saving a checkpoint…")
            self.context.ops.run(lambda store: cancel_run(store, run_id),
                                 lambda _run: self.refresh_requested.emit(""), self._report,
                                 owner=self)

    def resume(self) -> None:
        if self.current is not None:
            run_id, paths = self.current.id, self.context.paths

            self.context.ops.run(lambda store: resume_training(store, paths, run_id),
                                 lambda _run: self.refresh_requested.emit(run_id),
                                 self._report, owner=self)

    def open_folder(self) -> None:
        if self.current is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.current.run_dir)))

    def _report(self, error: BaseException) -> None:
        self.context.status_message.emit(str(error))

    # ---- the history -------------------------------------------------------------------
    def fill_history(self, rows: list[RunRow], select: str | None) -> None:
        runs = [row.run for row in rows]
        self.runs_by_id = {run.id: run for run in runs}
        self.rows_by_id = {row.run.id: row for row in rows}
        selected = [select] if select else self._selected_ids()
        if not selected:
            live = [r.id for r in runs if r.status == "running"]
            selected = live[:1] or [r.id for r in runs[:1]]
        selection_model = self.history.selectionModel()
        with QSignalBlocker(selection_model):
            self.run_list.set_rows(rows)
            chosen = QItemSelection()
            for run_id in selected:
                row = self.run_list.row_of(run_id)
                if row >= 0:
                    chosen.select(self.run_list.index(row), self.run_list.index(row))
            selection_model.select(chosen, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        self.history.viewport().update()  # the selection changed with its signals blocked
        current = self.runs_by_id.get(selected[0]) if selected else None
        if select or (current and current.id) != (self.current and self.current.id):
            self._on_selection()
        else:
            self.current = current
            self._show_status()

    def _selected_ids(self) -> list[str]:
        rows = sorted(self.history.selectionModel().selectedRows(), key=lambda i: i.row())
        return [str(index.data(RUN_ID_ROLE)) for index in rows]

    # ---- the shown runs ----------------------------------------------------------------
    def _on_selection(self) -> None:
        """Show the first selected run live (tailer, log, progress) and overlay the others."""
        ids = [i for i in self._selected_ids() if i in self.runs_by_id]
        self.current = self.runs_by_id[ids[0]] if ids else None
        self.eval_summary.show_run(self.current.id if self.current else None)
        self.stop_following()
        self.plots.clear()
        self.completions.setRowCount(0)
        self.completions.setVisible(False)
        self.log.clear()
        self.progress.reset()
        self.eta.clear()
        self.speed.reset()
        if self.current is not None:
            self.tailer = EventTailer(self.current.dir.events, self)
            self.tailer.events.connect(self._on_events)
            self.tailer.poll()
        others = {i: self.runs_by_id[i].dir.events for i in ids[1:]}
        if others:  # files, not the database: the I/O pool reads them
            self.context.io.run(lambda: {i: read_events(path) for i, path in others.items()},
                                self._show_overlays, owner=self)
        self._show_status()

    def _show_overlays(self, events: dict[str, list[Event]]) -> None:
        selected = self._selected_ids()
        for run_id, run_events in events.items():
            if run_id in selected:
                self.plots.add_events(run_id, run_events)

    def _on_events(self, events: list[Event]) -> None:
        if self.current is None:
            return
        self.plots.add_events(self.current.id, events)
        self.completions.add_events(events)
        self.completions.setVisible(self.completions.rowCount() > 0)
        for event in events:
            self.log.appendPlainText(describe(event))
            if event.event == "step":
                self.progress.setRange(0, int(event.get("max_steps") or 0))
                self.progress.setValue(int(event.get("step") or 0))
            self.speed.add(event)
        self.eta.setText(self.speed.line())  # after the end: how it ended, never an ETA
        if any(e.is_terminal for e in events):
            self._show_status()  # from the event now; the row follows when the queue advances
            self.run_ended.emit()

    def _show_status(self) -> None:
        self.status.setText(status_html(self.current, self.speed.ended))
        self._show_buttons()

    def _show_buttons(self) -> None:
        run = self.current
        self.cancel_button.setEnabled(run is not None and run.status in {"running", "queued"})
        row = self.rows_by_id.get(run.id) if run is not None else None
        self.resume_button.setEnabled(row is not None and row.offers_resume)
        self.folder_button.setEnabled(run is not None)
        self.bundle_button.set_run(run.id if run is not None else None)

    def stop_following(self) -> None:
        if self.tailer is not None:
            self.tailer.stop()
            self.tailer.deleteLater()
            self.tailer = None
