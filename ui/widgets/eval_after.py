"""The Train page's "Evaluate after training" option: on by default when an eval set exists,
on every set by default (the built-in general set too, cheapest first, one progress bar over
all jobs); when a run completes it evaluates the new model (and its parent, where that has no
score on a set yet) and the run's summary lists every set that got significantly worse, then
each set's before/after.

The use case is ``studio.evaluation.auto``; this widget only offers and presents it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from studio.app.evaluate import (
    EvalConfig,
    EvalSet,
    before_after,
    default_eval_set,
    list_eval_sets,
    plan,
    plan_all,
    run_model,
    run_summaries,
)
from studio.db.store import Store
from ui.context import AppContext, Changes
from ui.runners.job_runner import JobStrip
from ui.widgets.eval_jobs import EvalChain

ALL_SETS = "*"  # the combo's "every eval set" entry (the default)


class EvalAfterTrainingWidget(QWidget):
    summary = Signal(str, str)  # training run id, the before/after (or why there is none)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.touched = False  # the person set the checkbox: keep their choice
        self.run_id = ""
        self.model_id = ""
        self.set_in_use = ""  # the eval set of the eval in progress
        # Runs that completed while another run's eval was going: (run id, eval set), in order.
        self.waiting: list[tuple[str, str]] = []
        self.busy = False  # from start until the summary: the chain is not running yet while
        # its job folders are written on the store worker
        self.check = QCheckBox("Evaluate after training on")
        self.check.setToolTip("When the run completes, score the new model (and its parent,"
                              " for the before/after) on this eval set, or on every set;"
                              " the summary lists the sets that got significantly worse.")
        self.check.clicked.connect(self._touch)
        self.set_box = QComboBox()
        self.set_box.setToolTip("The eval set: prompts, references and a grader.")
        row = QHBoxLayout()
        row.addWidget(self.check)
        row.addWidget(self.set_box, 1)
        self.chain = EvalChain(context, self)
        self.chain.done.connect(self._read_result)
        self.chain.stopped.connect(self._stopped)
        self.strip = JobStrip(self.chain.runner)  # the eval's progress and Cancel
        # One bar over every job of the chain, not one per job.
        self.chain.runner.progress.disconnect(self.strip._on_progress)
        self.chain.overall.connect(self._overall)
        self.chain.step.connect(lambda model_id, done, total: self.strip.say(
            f"evaluating {model_id} {done}/{total}"))
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(row)
        column.addWidget(self.strip)
        context.changed.connect(self._on_changed)
        self.refresh()

    @property
    def set_name(self) -> str | None:
        name = self.set_box.currentData()
        return str(name) if self.check.isChecked() and name else None

    def refresh(self) -> None:
        self.context.ops.run(lambda store: (list_eval_sets(store), default_eval_set(store)),
                             on_success=self._show_sets, owner=self)

    def _on_changed(self, changes: Changes) -> None:
        if changes.prompts or changes.models:
            self.refresh()

    def _touch(self) -> None:
        self.touched = True

    def _show_sets(self, found: tuple[list[EvalSet], str | None]) -> None:
        sets, _ = found
        current = self.set_box.currentData() or ALL_SETS
        self.set_box.clear()
        # Every set, the built-in general one included (made on first use): always offered.
        self.set_box.addItem("every eval set (cheapest first)", ALL_SETS)
        for eval_set in sets:
            self.set_box.addItem(f"{eval_set.name} ({eval_set.size} prompts)", eval_set.name)
        self.set_box.setCurrentIndex(max(0, self.set_box.findData(current)))
        if not self.touched:  # on by default once the person has a set of their own
            self.check.setChecked(bool(sets))

    def start_for_run(self, run_id: str) -> bool:
        """Evaluate a completed run's model; False when the option is off. A run that ends
        while another run's eval is going waits for it (said in the strip), never skipped."""
        set_name = self.set_name
        if set_name is None:
            return False
        if self.busy or self.chain.running:
            if run_id != self.run_id and run_id not in (r for r, _ in self.waiting):
                self.waiting.append((run_id, set_name))
            self._say_waiting()
            return True
        self._start(run_id, set_name)
        return True

    def _start(self, run_id: str, set_name: str) -> None:
        self.busy, self.run_id, self.set_in_use = True, run_id, set_name

        def prepare(store: Store) -> list[EvalConfig]:
            self.model_id = run_model(store, run_id)
            if set_name == ALL_SETS:
                return plan_all(store, self.model_id)
            return plan(store, set_name, self.model_id)

        self.strip.started(f"Evaluating run {run_id} on"
                           f" {'every eval set' if set_name == ALL_SETS else set_name}…")
        self._say_waiting()
        self.chain.start(prepare)

    def _say_waiting(self) -> None:
        if self.waiting:
            names = ", ".join(run_id for run_id, _ in self.waiting)
            self.strip.setToolTip(f"Waiting to be evaluated next: {names}")
            self.context.status_message.emit(
                f"Evaluation of run(s) {names} queued: it starts when the eval of run"
                f" {self.run_id} ends.")
        else:
            self.strip.setToolTip("")

    def _next(self) -> None:
        self.busy = False
        if self.waiting:
            run_id, set_name = self.waiting.pop(0)
            self._start(run_id, set_name)

    def _overall(self, done: int, total: int) -> None:
        self.strip.bar.setRange(0, max(total, 1))
        self.strip.bar.setValue(done)

    def _stopped(self, message: str) -> None:
        self.strip.say("")
        self.summary.emit(self.run_id, f"eval: {message}")
        self._next()

    def _read_result(self) -> None:
        self.strip.say("")
        set_name, model_id, run_id = self.set_in_use, self.model_id, self.run_id

        def said(text: str) -> None:
            self.summary.emit(run_id, text)
            self._next()

        if set_name == ALL_SETS:  # every set's before/after, the ones that got worse first
            self.context.ops.run(lambda store: run_summaries(store, run_id), owner=self,
                                 on_success=lambda lines: said(
                                     "\n".join(lines) or "eval: no parent score to"
                                     " compare with"),
                                 on_failure=lambda error: said(f"eval: {error}"))
            return
        self.context.ops.run(lambda store: before_after(store, set_name, model_id),
                             owner=self, on_success=lambda found: said(
                                 found.summary() if found else
                                 f"eval '{set_name}': no parent score to compare with"),
                             on_failure=lambda error: said(f"eval: {error}"))


class EvalRunSummaryLabel(QLabel):
    """The before/after lines of the shown training run (``studio.evaluation.auto``)."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent, objectName="Muted", wordWrap=True)
        self.context = context
        self.run_id: str | None = None

    def show_run(self, run_id: str | None) -> None:
        self.run_id = run_id
        self.setText("")
        if run_id is None:
            return
        self.context.ops.run(lambda store: run_summaries(store, run_id), owner=self,
                             on_success=lambda lines: self._show(run_id, lines))

    def _show(self, run_id: str, lines: list[str]) -> None:
        if run_id == self.run_id:  # the selection may have moved on meanwhile
            self.setText("\n".join(lines))
