"""A QObject that owns one ``python -m backends.chat`` worker process.

Commands go to the worker's stdin as JSON lines; its stdout events come back as signals on the
UI thread. A crash of the worker (a bad model, out of memory, a segfault in llama.cpp) is a
``crashed`` signal with the exit code and the last lines it wrote to stderr: the UI stays up.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from typing import Any

from PySide6.QtCore import QObject, QProcess, Signal

from studio.events import EventFormatError, parse_line
from studio.jobs.launch import PROJECT_ROOT, worker_command
from ui.runners.process_runner import qt_environment


class ChatRunner(QObject):
    """One chat worker. ``start()``, then ``load(...)`` and ``chat(...)``; ``shutdown()``."""

    loaded = Signal(dict)  # the loaded event's fields
    token = Signal(str, str)  # request id, text piece
    done = Signal(dict)  # id, text, tokens, ttft_s, tokens_per_s, rate_kind, stopped...
    error = Signal(str, str)  # message, request id ("" when not about a request)
    crashed = Signal(str)  # why the worker is gone

    def __init__(self, parent: QObject | None = None, python: str = sys.executable) -> None:
        super().__init__(parent)
        self.python = python
        self.process: QProcess | None = None
        self._buffer = b""
        self._stderr: deque[str] = deque(maxlen=8)
        self._stopping = False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self) -> None:
        if self.running:
            return
        process = QProcess(self)
        process.setProgram(self.python)
        process.setArguments(worker_command("chat")[1:])  # the launcher's command, our python
        # The launcher's environment: one construction for every child (os.pathsep joins).
        process.setProcessEnvironment(qt_environment())
        process.setWorkingDirectory(str(PROJECT_ROOT))
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._stopping, self._buffer = False, b""
        self.process = process
        process.start()

    # ---- commands ----------------------------------------------------------------------
    def load(self, model: str, lora: str | None = None, n_ctx: int = 2048,
             threads: int = 0, gpu_layers: int = -1) -> None:
        self._send({"cmd": "load", "model": model, "lora": lora, "n_ctx": n_ctx,
                    "threads": threads, "gpu_layers": gpu_layers})

    def chat(self, request_id: str, messages: list[dict[str, str]], **sampling: Any) -> None:
        self._send({"cmd": "chat", "id": request_id, "messages": messages, **sampling})

    def stop_reply(self) -> None:
        self._send({"cmd": "stop"})

    def unload(self) -> None:
        self._send({"cmd": "unload"})

    def shutdown(self, grace_ms: int = 3000) -> None:
        """Ask the worker to quit; terminate, then kill, if it does not within the grace."""
        process, self.process = self.process, None
        if process is None:
            return
        self._stopping = True
        if process.state() != QProcess.ProcessState.NotRunning:
            process.write(b'{"cmd": "quit"}\n')
            process.closeWriteChannel()
            if not process.waitForFinished(grace_ms):
                process.terminate()
                if not process.waitForFinished(grace_ms):
                    process.kill()
                    process.waitForFinished(grace_ms)
        process.deleteLater()

    def _send(self, command: dict[str, Any]) -> None:
        if not self.running:
            self.start()
        assert self.process is not None
        self.process.write((json.dumps(command, ensure_ascii=False) + "\n").encode("utf-8"))

    # ---- events ------------------------------------------------------------------------
    def _read_stdout(self) -> None:
        if self.process is None:
            return
        self._buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            self._dispatch(raw.decode("utf-8", errors="replace"))

    def _dispatch(self, line: str) -> None:
        if not line.strip():
            return
        try:
            event = parse_line(line, "chat worker")
        except EventFormatError:
            self._stderr.append(line)  # a stray library print; kept for a crash report
            return
        fields = dict(event.fields)
        if event.event == "loaded":
            self.loaded.emit(fields)
        elif event.event == "token":
            self.token.emit(str(fields.get("id", "")), str(fields.get("text", "")))
        elif event.event == "done":
            self.done.emit(fields)
        elif event.event == "error":
            self.error.emit(str(fields.get("message")), str(fields.get("id") or ""))

    def _read_stderr(self) -> None:
        if self.process is not None:
            text = bytes(self.process.readAllStandardError().data()).decode("utf-8", "replace")
            self._stderr.extend(ln for ln in text.splitlines() if ln.strip())

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        if self._stopping:
            return
        self.process = None
        how = "crashed" if status == QProcess.ExitStatus.CrashExit else f"exited with {code}"
        tail = "\n".join(self._stderr)
        self.crashed.emit(f"the chat worker {how}" + (f":\n{tail}" if tail else ""))

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and not self._stopping:
            self.crashed.emit(f"the chat worker could not start ({self.python})")
