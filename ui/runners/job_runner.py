"""A one-shot backend job (``python -m backends.generate|judge --job-dir DIR --db PATH``) as a
QObject, and the small progress strip that shows one.

:class:`JobRunner` owns a :class:`ProcessRunner` (argument list, merged channels, terminate then
kill), parses the child's stdout JSON lines with ``studio.events.parse_line`` and turns them
into signals. The outcome (``finished`` / ``failed`` / ``cancelled``) is emitted only once the
process has exited, so whoever reacts to it never races a child still writing the database.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from studio.events import Event, EventFormatError, parse_line
from ui.runners.process_runner import GRACE_MS, ProcessRunner

TAIL_LINES = 12  # non-event output kept to explain a crash


class JobRunner(QObject):
    progress = Signal(object)  # a progress Event (done, total, eta_s, message)
    finished = Signal(object)  # the finished Event; the process has exited
    cancelled = Signal(object)  # the cancelled Event; what was finished is kept
    failed = Signal(str)  # a human message; the traceback is in the job's log file
    ended = Signal()  # after any outcome

    def __init__(self, backend: str, parent: QObject | None = None,
                 grace_ms: int = GRACE_MS) -> None:
        super().__init__(parent)
        self.backend = backend
        self.process = ProcessRunner(self, grace_ms=grace_ms)
        self.process.line.connect(self._on_line)
        self.process.finished.connect(self._on_exit)
        self.process.failed_to_start.connect(self._on_failed_to_start)
        self.job_dir: Path | None = None
        self.started_at = 0.0
        self.last: Event | None = None  # the terminal event, once seen
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._cancelling = False

    @property
    def running(self) -> bool:
        return self.process.running

    def start(self, job_dir: Path, db: Path) -> None:
        self.job_dir, self.last, self._cancelling = job_dir, None, False
        self._tail.clear()
        self.started_at = time.monotonic()
        self.process.start(["-m", f"backends.{self.backend}", "--job-dir", str(job_dir),
                            "--db", str(db)])

    def cancel(self) -> None:
        """SIGTERM: the backend stops after the item in progress (kill after the grace)."""
        if self.running:
            self._cancelling = True
            self.process.stop()

    def wait(self, msecs: int = 30_000) -> bool:
        return self.process.wait(msecs)

    # ---- internals ---------------------------------------------------------------------
    def _on_line(self, line: str) -> None:
        if not line.strip():
            return
        try:
            event = parse_line(line, self.backend)
        except EventFormatError:
            self._tail.append(line)  # llama.cpp's own logging, or a traceback
            return
        if event.event == "progress":
            self.progress.emit(event)
        elif event.is_terminal:
            self.last = event

    def _on_exit(self, code: int, crashed: bool) -> None:
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
            how = "crashed" if crashed else f"exited with code {code}"
            tail = "\n".join(self._tail)
            self.failed.emit(f"the {self.backend} job {how}" + (f":\n{tail}" if tail else ""))
        self.ended.emit()

    def _on_failed_to_start(self, message: str) -> None:
        self.failed.emit(f"the {self.backend} job could not start: {message}")
        self.ended.emit()


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"about {seconds} s left"
    return f"about {seconds // 60} min {seconds % 60:02d} s left"


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
