"""One generic runner for every backend job, and the small progress strip that shows one.

:class:`JobRunner` starts ``python -m backends.<module> --job-dir DIR`` with the launcher's
argument list and environment (``studio.jobs.launch``), stdin closed and output appended to the
job's log; it follows ``events.jsonl`` (the one event stream) with an :class:`EventTailer`,
stops through ``request_stop`` (the stop file + SIGTERM) and kills after a grace period. The
outcome (``finished`` / ``failed`` / ``cancelled``) is emitted only once the process has
exited, so whoever reacts to it never races a child still writing the database; a job that
died without a terminal event fails with the tail of its log.

A job that writes the database declares what it changes, as an operation does:
``JobRunner("export", self, context=context, changes=Changes(models=True))`` announces that on
``context.changed`` once the job finished (after the ``finished`` handlers ran), so no page
writes ``announce()`` by hand. ``announce_on`` adds outcomes after which some of the work is
kept (a cancelled generation stored the candidates it had finished).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from studio.durations import duration
from studio.events import Event
from studio.jobs.launch import EVENTS, PROJECT_ROOT, crash_report, job_command, request_stop
from ui.changes import Changes
from ui.context import AppContext
from ui.runners.process_runner import GRACE_MS, EventTailer, qt_environment

# What a job changed: fixed, or computed when it ends (from the page's state; None: nothing).
JobChanges = Changes | Callable[[], Changes | None] | None
OUTCOMES = ("finished", "cancelled", "failed")


class JobRunner(QObject):
    event = Signal(object)  # every event of the job, in order
    progress = Signal(object)  # a progress Event (done, total, eta_s, message)
    finished = Signal(object)  # the finished Event; the process has exited
    cancelled = Signal(object)  # the cancelled Event (None if killed); what was done is kept
    failed = Signal(str)  # a human message; the traceback is in the job's log file
    ended = Signal()  # after any outcome

    def __init__(self, module: str, parent: QObject | None = None,
                 grace_ms: int = GRACE_MS, *, context: AppContext | None = None,
                 changes: JobChanges = None,
                 announce_on: Collection[str] = ("finished",)) -> None:
        super().__init__(parent)
        if changes is not None and context is None:
            raise ValueError("a JobRunner that declares changes needs the context to announce"
                             " them on")
        unknown = set(announce_on) - set(OUTCOMES)
        if unknown:
            raise ValueError(f"announce_on: {sorted(unknown)} are not outcomes {OUTCOMES}")
        self.backend = module
        self.grace_ms = grace_ms
        self.context = context
        self.changes = changes
        self.announce_on = frozenset(announce_on)
        self.process: QProcess | None = None
        self.tailer: EventTailer | None = None
        self.job_dir: Path | None = None
        self.started_at = 0.0
        self.last: Event | None = None  # the terminal event, once seen
        self._cancelling = False

    @property
    def running(self) -> bool:
        return self.process is not None and \
            self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, job_dir: Path) -> None:
        if self.running:
            raise RuntimeError("this runner already has a running job")
        self.job_dir, self.last, self._cancelling = Path(job_dir).resolve(), None, False
        self.started_at = time.monotonic()
        program, *arguments = job_command(self.backend, self.job_dir)
        process = QProcess(self)
        process.setProgram(program)
        process.setArguments(arguments)
        process.setProcessEnvironment(qt_environment())
        process.setWorkingDirectory(str(PROJECT_ROOT))
        # No library may ever prompt (transformers' "trust remote code? [y/N]"): stdin closed.
        process.setStandardInputFile(QProcess.nullDevice())
        log = str(self.job_dir / f"{self.backend}.log")
        process.setStandardOutputFile(log, QProcess.OpenModeFlag.Append)
        process.setStandardErrorFile(log, QProcess.OpenModeFlag.Append)
        process.finished.connect(self._on_exit)
        process.errorOccurred.connect(self._on_error)
        self._follow(self.job_dir / EVENTS)
        self.process = process
        process.start()

    def cancel(self) -> None:
        """The one stop mechanism: the job stops after the item (or step) in progress; it is
        killed if it is still there after the grace period."""
        if self.running and self.process is not None and self.job_dir is not None:
            self._cancelling = True
            request_stop(self.job_dir, int(self.process.processId()) or None)
            QTimer.singleShot(self.grace_ms, self.kill)

    def kill(self) -> None:
        """End the process now (the grace period is over, or the app is closing)."""
        if self.running and self.process is not None:
            self.process.kill()

    def wait(self, msecs: int = 30_000) -> bool:
        return self.process is None or self.process.waitForFinished(msecs)

    # ---- internals ---------------------------------------------------------------------
    def _follow(self, events: Path) -> None:
        if self.tailer is not None:
            self.tailer.stop()
            self.tailer.deleteLater()
        self.tailer = EventTailer(events, self)
        self.tailer.events.connect(self._on_events)
        self.tailer.problem.connect(lambda message: None)  # a bad line: the log explains

    def _on_events(self, events: list[Event]) -> None:
        for event in events:
            self.event.emit(event)
            if event.event == "progress":
                self.progress.emit(event)
            elif event.is_terminal:
                self.last = event

    def _on_exit(self, code: int, status: QProcess.ExitStatus) -> None:
        if self.tailer is not None:
            self.tailer.poll()  # what the job wrote just before it exited
            self.tailer.stop()
        last = self.last
        if last is not None and last.event == "finished":
            self.finished.emit(last)
        elif last is not None and last.event == "cancelled":
            self.cancelled.emit(last)
        elif last is not None and last.event == "failed":
            self.failed.emit(str(last.get("message") or "the job failed"))
        elif self._cancelling:
            self.cancelled.emit(None)  # killed after the grace period
        else:
            how = "crashed" if status == QProcess.ExitStatus.CrashExit \
                else f"exited with code {code}"
            # The log's tail, or (a full disk leaves it empty) what the disk says.
            tail = crash_report(self.job_dir, self.backend) if self.job_dir else ""
            self.failed.emit(f"the {self.backend} job {how}" + (f":\n{tail}" if tail else ""))
        outcome = last.event if last is not None and last.event in OUTCOMES \
            else "cancelled" if self._cancelling else "failed"
        self._announce(outcome)
        self.ended.emit()

    def _announce(self, outcome: str) -> None:
        """Say what the job changed, after its outcome's handlers (as ``Ops`` does after
        ``on_success``): the process has exited, so every view re-reads its final writes."""
        if self.context is None or outcome not in self.announce_on:
            return
        changes = self.changes() if callable(self.changes) else self.changes
        if changes is not None:
            self.context.announce(changes)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.process is not None:
            if self.tailer is not None:
                self.tailer.stop()
            self.failed.emit(f"the {self.backend} job could not start:"
                             f" {self.process.errorString()}")
            self.ended.emit()


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"about {duration(seconds)} left"


TERMINAL_WORDS = {"finished": "Done.", "cancelled": "Cancelled.", "failed": "Failed."}


class JobStrip(QWidget):
    """Progress bar, a status line with the ETA, and Cancel for one :class:`JobRunner`."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self._first: tuple[float, int] | None = None  # (time, done) of the first item
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setTextVisible(False)  # the status line says how far; "0%" is noise
        self.status = QLabel(objectName="Muted")
        self.status.setMinimumWidth(220)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the item in progress; finished items are"
                                      " kept, and running again does only what is missing.")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setAutoDefault(False)  # else it is the dialog's blue default
        self.cancel_button.clicked.connect(self._cancel)
        row.addWidget(self.bar, 1)
        row.addWidget(self.status)
        row.addWidget(self.cancel_button)
        # An idle bar and a dead Cancel say nothing before the first job: shown on start.
        self.bar.hide()
        self.cancel_button.hide()
        runner.progress.connect(self._on_progress)
        runner.event.connect(self._on_event)
        runner.ended.connect(lambda: self.cancel_button.setEnabled(False))

    def started(self, message: str) -> None:
        self.bar.setRange(0, 0)  # busy until the first progress event says how much
        self.bar.show()
        self.cancel_button.show()
        self._first = None
        self.status.setText(message)
        self.cancel_button.setEnabled(True)

    def say(self, message: str) -> None:
        self.status.setText(message)

    def _on_progress(self, event: Event) -> None:
        total, done = int(event.get("total") or 0), int(event.get("done") or 0)
        if total > 0 and event.get("stage") != "load":
            self.bar.setRange(0, total)
            self.bar.setValue(done)
        loading = event.get("stage") == "load"
        eta = eta_text(None if loading else event.get("eta_s", self._estimate(done, total)))
        self.status.setText(" · ".join(p for p in (str(event.get("message") or ""), eta) if p))

    def _on_event(self, event: Event) -> None:
        """The job wrote its outcome: the last step's "… 25 s left" must not outlive it while
        the process exits (the owner says the outcome in its own words)."""
        if event.is_terminal:
            self.cancel_button.setEnabled(False)
            self.bar.setRange(0, 1)
            self.bar.setValue(1 if event.event == "finished" else 0)
            self.status.setText(TERMINAL_WORDS.get(event.event, ""))

    def _estimate(self, done: int, total: int) -> float | None:
        """ETA from the pace since the first item (for backends that send none)."""
        now = time.monotonic()
        if self._first is None:
            self._first = (now, done)
            return None
        elapsed, count = now - self._first[0], done - self._first[1]
        return elapsed / count * (total - done) if count > 0 else None

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.status.setText("Stopping after the current item…")
        self.runner.cancel()
