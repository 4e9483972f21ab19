"""Runs eval jobs one after another through one :class:`JobRunner` (e.g. the parent, then the
tuned model, for a before/after). The configs come from ``studio.evaluation`` use cases; job
folders are written on the store worker, never on the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studio.app.evaluate import (
    EVAL_MODULE,
    EvalConfig,
    done_prompt_ids,
    get_eval_set,
    sync_eval_runs,
)
from studio.db.store import Store
from studio.events import Event
from studio.jobs.launch import write_job
from ui.context import AppContext, Changes
from ui.runners.job_runner import JobRunner

Prepare = Callable[[Store], list[EvalConfig]]


def prompts_left(store: Store, config: EvalConfig) -> int:
    """How many prompts the job will answer (a resumed run skips those it has)."""
    done = done_prompt_ids(store, config.run_id) if config.run_id is not None else set()
    return max(get_eval_set(store, config.set_name).size - len(done), 0)


class EvalChain(QObject):
    done = Signal()  # every job finished
    stopped = Signal(str)  # a job failed or was cancelled: why, in words
    step = Signal(str, int, int)  # model id, done, total of the job in progress
    # Prompts done and to do across the whole chain, for one progress bar over every job.
    overall = Signal(int, int)

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        # The Models page shows each finished job's new score.
        self.runner = JobRunner(EVAL_MODULE, self, context=context,
                                changes=Changes(models=True))
        self.pending: list[tuple[Path, str, int]] = []
        self.current = ""
        self.total = 0  # prompts to answer across the chain
        self.before = 0  # prompts of the jobs already finished
        self.current_size = 0
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(lambda message: self._stop(f"Failed: {message}"))
        self.runner.cancelled.connect(
            lambda _: self._stop("Cancelled: the prompts done are kept; evaluating again"
                                 " resumes."))

    @property
    def running(self) -> bool:
        return self.runner.running or bool(self.pending)

    def start(self, prepare: Prepare) -> None:
        """Build the configs with ``prepare(store)`` on the store worker, then run them."""
        jobs = self.context.paths.root / "jobs"

        def write(store: Store) -> list[tuple[Path, str, int]]:
            return [(write_job(c, jobs, "eval"), c.model_id, prompts_left(store, c))
                    for c in prepare(store)]

        self.context.ops.run(write, on_success=self._begin, owner=self,
                             on_failure=lambda error: self.stopped.emit(f"Not started: {error}"))

    def cancel(self) -> None:
        self.pending.clear()
        self.runner.cancel()

    def _begin(self, jobs: list[tuple[Path, str, int]]) -> None:
        self.pending = list(jobs)
        self.total, self.before, self.current_size = sum(j[2] for j in jobs), 0, 0
        self._next()

    def _next(self) -> None:
        if not self.pending:
            self.done.emit()
            return
        job_dir, self.current, self.current_size = self.pending.pop(0)
        self.runner.start(job_dir)

    def _on_progress(self, event: Event) -> None:
        if event.get("stage") == "eval":
            done = int(event.get("done") or 0)
            self.step.emit(self.current, done, int(event.get("total") or 0))
            self.overall.emit(self.before + done, self.total)

    def _on_finished(self, event: Event) -> None:
        self.before += self.current_size
        self.overall.emit(self.before, self.total)
        self._next()

    def _stop(self, message: str) -> None:
        self.pending.clear()
        # A job killed after the grace period (or crashed) wrote no outcome to its run row:
        # reconcile the rows first, so whoever reacts to ``stopped`` reads the truth.
        self.context.ops.run(sync_eval_runs, owner=self,
                             on_success=lambda _: self.stopped.emit(message),
                             on_failure=lambda _: self.stopped.emit(message))
