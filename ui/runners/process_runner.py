"""Qt pieces shared by the runners: the launcher's environment as a QProcessEnvironment, an
:class:`EventTailer` that follows a job's ``events.jsonl``, and a :class:`ProcessRunner` for
short non-job tools (the doctor probe), whose output is read line by line.

Backend jobs never go through :class:`ProcessRunner`: they start with ``ui.runners.job_runner``
(attached) or ``studio.jobs.launch.spawn_detached`` (training), both built on
``studio.jobs.launch``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import (
    QFileSystemWatcher,
    QObject,
    QProcess,
    QProcessEnvironment,
    QTimer,
    Signal,
)

from studio.events import Event, EventFormatError, EventTail
from studio.jobs.launch import PROJECT_ROOT, job_environment

GRACE_MS = 5000
POLL_MS = 500  # the tailer's fallback when file-system notifications don't arrive


def qt_environment() -> QProcessEnvironment:
    """The launcher's child environment (``studio.jobs.launch.job_environment``), for Qt."""
    env = QProcessEnvironment()
    for name, value in job_environment().items():
        env.insert(name, value)
    return env


class ProcessRunner(QObject):
    """One attached short tool process (not a backend job): lines out, exit code at the end."""

    line = Signal(str)  # one line of merged stdout/stderr
    finished = Signal(int, bool)  # exit code, crashed
    failed_to_start = Signal(str)

    def __init__(self, parent: QObject | None = None, grace_ms: int = GRACE_MS) -> None:
        super().__init__(parent)
        self.grace_ms = grace_ms
        self.process: QProcess | None = None
        self._buffer = b""

    @property
    def running(self) -> bool:
        return self.process is not None and \
            self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, arguments: list[str], program: str = sys.executable) -> None:
        if self.running:
            raise RuntimeError("this runner already has a running process")
        process = QProcess(self)
        process.setProgram(program)
        process.setArguments(arguments)
        process.setProcessEnvironment(qt_environment())
        process.setWorkingDirectory(str(PROJECT_ROOT))
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.readyReadStandardOutput.connect(self._read)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self.process, self._buffer = process, b""
        process.start()

    def stop(self) -> None:
        """Ask the process to end (SIGTERM); kill it if it is still there after the grace."""
        if not self.running or self.process is None:
            return
        self.process.terminate()
        QTimer.singleShot(self.grace_ms, self._kill_if_running)

    def wait(self, msecs: int = 30000) -> bool:
        return self.process is None or self.process.waitForFinished(msecs)

    def _kill_if_running(self) -> None:
        if self.running and self.process is not None:
            self.process.kill()

    def _read(self) -> None:
        if self.process is None:
            return
        self._buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            self.line.emit(raw.decode("utf-8", errors="replace").rstrip("\r"))

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._read()
        if self._buffer:
            self.line.emit(self._buffer.decode("utf-8", errors="replace"))
            self._buffer = b""
        self.finished.emit(code, status == QProcess.ExitStatus.CrashExit)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self.process is not None:
            self.failed_to_start.emit(self.process.errorString())


class EventTailer(QObject):
    """Follows a run's events.jsonl: file-system notifications plus a slow timer fallback.

    Connect ``events``, then call :meth:`poll` once to get what the file already holds."""

    events = Signal(list)  # list[Event], new since the last emission
    problem = Signal(str)  # a malformed line (reported once, then skipped)

    def __init__(self, path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tail = EventTail(path)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self.poll)
        self.watcher.directoryChanged.connect(self._watch_file)
        if path.parent.exists():
            self.watcher.addPath(str(path.parent))
        if path.exists():  # no poll here: the owner connects `events` first, then polls
            self.watcher.addPath(str(path))
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()

    def _watch_file(self, _directory: str = "") -> None:
        path = str(self.tail.path)
        if self.tail.path.exists() and path not in self.watcher.files():
            self.watcher.addPath(path)
        self.poll()

    def poll(self) -> list[Event]:
        try:
            new = self.tail.read_new()
        except EventFormatError as error:
            self.problem.emit(str(error))
            return []
        if new:
            self.events.emit(new)
        return new

    def stop(self) -> None:
        self.timer.stop()
        paths = self.watcher.files() + self.watcher.directories()
        if paths:
            self.watcher.removePaths(paths)
