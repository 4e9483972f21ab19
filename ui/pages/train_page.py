"""The Train page: pick data, base model, method and preset; launch; watch the run live.

Runs are separate processes in their own session (they keep going when the app closes). The
page re-attaches by reading the run list and the run folder: a timer re-reads the run
list (reading only), the run panel follows the shown run's events.jsonl, and a run that ended
(its terminal event, or its process gone) triggers :func:`studio.app.training.advance_queue`.
The left column is :class:`TrainSetupPanel`, the right :class:`RunPanel`.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QMessageBox, QSplitter, QVBoxLayout, QWidget

from studio.app.eval_matrix import starting_model_warning
from studio.app.models import list_models
from studio.app.overview import ReadinessReport, readiness_report
from studio.app.runs import Run, list_runs
from studio.app.train_checks import Check, prompt_choices
from studio.app.train_scope import MINE
from studio.app.training import Launch, advance_queue, launch_training
from studio.db.store import Store
from studio.errors import StudioError
from studio.training.config import TrainConfig
from ui.context import AppContext, Changes
from ui.item_models.run_list import RunRow
from ui.pages.train_runs import RunPanel
from ui.pages.train_setup import TrainSetupPanel, cached_hub_models

POLL_MS = 2000


@dataclass
class PageState:
    runs: list[Run]
    resume: frozenset[str] = frozenset()  # runs whose folder offers Resume (a checkpoint)
    gone: frozenset[str] = frozenset()  # runs marked running whose process is gone
    readiness: ReadinessReport | None = None
    models: list[tuple[str, str]] | None = None  # (label, path)
    prompt_choices: list[str] | None = None  # tags and sources, for GRPO


class TrainPage(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setup = TrainSetupPanel(context)
        self.setup.launch_requested.connect(self.launch)
        self.runs = RunPanel(context)
        self.runs.refresh_requested.connect(lambda run_id: self.refresh(select=run_id or None))
        self.after_eval = self.setup.after_eval
        self.after_eval.summary.connect(self._eval_done)
        self.runs.run_ended.connect(self.advance_queue)
        self._reconciled: frozenset[str] = frozenset()
        self._alias_widgets()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.setup)
        splitter.addWidget(self.runs)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.stopped = False  # after shutdown(): no more store work (the worker may be gone)
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)
        context.changed.connect(self._on_changed)
        self.refresh(full=True)

    def _alias_widgets(self) -> None:
        """The panels' widgets under the page's own names (tests and the window use them)."""
        setup, runs = self.setup, self.runs
        self.method, self.model, self.form = setup.method, setup.model, setup.form
        self.download, self.readiness = setup.download, setup.readiness
        self.launch_button, self.checks_label = setup.launch_button, setup.checks_label
        self.probe = setup.probe  # GRPO's "Probe the base model"
        self.status, self.progress, self.eta = runs.status, runs.progress, runs.eta
        self.cancel_button, self.resume_button = runs.cancel_button, runs.resume_button
        self.folder_button, self.bundle_button = runs.folder_button, runs.bundle_button
        self.plots, self.history, self.log = runs.plots, runs.history, runs.log

    @property
    def current(self) -> Run | None:
        return self.runs.current

    @property
    def runs_by_id(self) -> dict[str, Run]:
        return self.runs.runs_by_id

    # ---- launch ------------------------------------------------------------------------
    def launch(self) -> None:
        try:
            config = self.setup.config()
        except StudioError as error:
            self.setup.show_checks([Check("error", "config", str(error))])
            return
        self.launch_button.setEnabled(False)
        self.checks_label.setText("Checking…")
        # The starting model flagged worse than its own parent on a set: ask first.
        self.context.ops.run(lambda store: starting_model_warning(store, config.model),
                             lambda warning: self._confirm_launch(config, warning),
                             self._launch_failed, owner=self)

    def _confirm_launch(self, config: TrainConfig, warning: str | None) -> None:
        if warning and QMessageBox.warning(
                self, "Train from a model that got worse?", warning + "\n\nTrain from it"
                " anyway?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No) != QMessageBox.StandardButton.Yes:
            self.launch_button.setEnabled(True)
            self.checks_label.setText("")
            return
        paths = self.context.paths
        self.context.ops.run(lambda store: launch_training(store, paths, config),
                             self._launched, self._launch_failed, owner=self,
                             changes=lambda launch: Changes(runs=True, models=True,
                                                            snapshots=True, origin=self)
                             if launch.run is not None else None)

    def _launched(self, result: Launch) -> None:
        self.launch_button.setEnabled(True)
        self.setup.show_checks(result.checks)
        if result.run is not None:
            self.refresh(select=result.run.id)

    def _launch_failed(self, error: BaseException) -> None:
        self.launch_button.setEnabled(True)
        self.setup.show_checks([Check("error", "launch", str(error))])

    # ---- refresh -----------------------------------------------------------------------
    def poll(self) -> None:
        if not self.context.ops.busy:
            self.refresh()

    def refresh(self, full: bool = False, select: str | None = None) -> None:
        if self.stopped:  # a late answer (a run's end) after the page was shut down
            return

        def load(store: Store) -> PageState:
            runs = list_runs(store)  # reads only: a run's end advances the queue
            gone = frozenset(r.id for r in runs if r.status == "running" and not r.dir.is_alive())
            # Disk checks here, on the worker: the run list's records carry the answers.
            resume = frozenset(r.id for r in runs if r.offers_resume)
            state = PageState(runs, resume, gone)
            if full:
                state.readiness = readiness_report(store)
                state.models = [(m.name, m.path) for m in list_models(store, "base")]
                state.models += cached_hub_models()
                state.prompt_choices = prompt_choices(store)
            return state

        self.context.ops.read(load, lambda state: self._show_state(state, select), owner=self)

    def _on_changed(self, changes: Changes) -> None:
        if changes.origin is not self and (changes.labels or changes.models or changes.runs):
            self.refresh(full=True)

    def _show_state(self, state: PageState, select: str | None) -> None:
        if state.readiness is not None:
            self.setup.show_readiness(state.readiness)
        if state.models is not None:
            self.setup.show_models(state.models)
        if state.prompt_choices is not None:
            self.setup.grpo.show_choices(state.prompt_choices)
            self.setup.scope.show_choices([MINE, *state.prompt_choices])
        before = {run_id: run.status for run_id, run in self.runs.runs_by_id.items()}
        self.runs.fill_history([RunRow(run, run.id in state.resume) for run in state.runs],
                               select)
        for run in state.runs:  # a run seen training and now completed: evaluate its model
            if run.status == "completed" and before.get(run.id) in ("running", "queued"):
                self.after_eval.start_for_run(run.id)
        new, self._reconciled = state.gone - self._reconciled, state.gone
        if new:
            # A process that died without its last event (killed, crashed): record that once.
            self.advance_queue()

    def advance_queue(self) -> None:
        """A run ended: record how, and start the next queued run if there is one."""
        if self.stopped:
            return
        paths = self.context.paths
        self.context.ops.run(lambda store: advance_queue(store, paths),
                             lambda _run: self.refresh(), owner=self)

    def _eval_done(self, run_id: str, summary: str) -> None:
        self.context.status_message.emit(summary)
        if self.current is not None and self.current.id == run_id:
            self.runs.eval_summary.show_run(run_id)

    def showEvent(self, event: QShowEvent) -> None:
        # Re-read only while visible: the training process advances the queue by itself.
        self.timer.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self.timer.stop()
        super().hideEvent(event)

    def shutdown(self) -> None:
        """Stop following runs (they keep training); for window close and tests."""
        self.stopped = True
        self.timer.stop()
        self.download.shutdown()
        self.probe.shutdown()
        self.runs.stop_following()
