"""Graders that can never hang their caller: each scores in a worker process
(:mod:`studio.evaluation.graders.worker`) that is killed, with its process group, when one
answer takes longer than the time limit or when the caller's stop is asked for.

A timed-out or crashed answer scores 0 with a reason that names the grader and the cause, and
the next answer gets a fresh worker, so one bad answer never ends a run. A stop raises
:class:`GradingStoppedError` within ``POLL_S``, whatever the grader is doing. The eval job and
GRPO wrap their graders with :func:`isolate`; a Python-file grader is always isolated.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from studio.errors import StudioError
from studio.evaluation.graders.base import AllOf, AnyOf, Grade, Grader, WeightedMean
from studio.jobs.launch import job_environment

POLL_S = 0.1
TAIL_CHARS = 600  # what a crashed grader printed last, for its reason
WORKER = "studio.evaluation.graders.worker"


class GradingStoppedError(StudioError):
    """A stop was asked for while a grader was scoring; its worker has been killed."""


@dataclass(frozen=True)
class GraderLimits:
    """What one grader may use."""

    time_s: float = 10.0  # per answer: past it the answer scores 0 and the worker is killed
    memory_mb: int = 2048  # address space of the grading process (Linux and macOS)
    start_s: float = 60.0  # starting the worker: Python, imports, a grader file's top level


DEFAULT_LIMITS = GraderLimits()
_TIMEOUT: dict[str, Any] = {"timeout": True}  # the marker _wait returns past its limit
StopCheck = Callable[[], bool]


def _never() -> bool:
    return False


class GraderProcess:
    """One worker process for one grader spec, started on first use and kept between answers."""

    def __init__(self, spec: str, label: str, limits: GraderLimits,
                 should_stop: StopCheck = _never) -> None:
        self.spec, self.label, self.limits, self.should_stop = spec, label, limits, should_stop
        self.process: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.said: list[str] = [""]  # what the worker printed last (its stderr's tail)
        self.threads: list[threading.Thread] = []
        self.broken: str | None = None  # the grader cannot be built: every answer says why

    def grade(self, prompt: str, response: str, reference: str | None) -> Grade:
        if self.broken is None and self.process is None:
            failed = self._start()
            if failed is not None:
                return failed
        if self.broken is not None:
            return Grade(0.0, self.broken)
        item = json.dumps({"prompt": prompt, "response": response, "reference": reference})
        try:
            stdin = self.process.stdin if self.process is not None else None
            if stdin is None:
                raise BrokenPipeError
            stdin.write(item + "\n")
            stdin.flush()
        except OSError:
            return self._crashed()  # it died between answers: this answer says how
        message = self._wait(self.limits.time_s)
        if message is None:
            return self._crashed()
        if message is _TIMEOUT:
            self.kill()
            return Grade(0.0, f"grader {self.label} timed out after {self.limits.time_s:g} s on"
                         " this answer and was stopped")
        if "error" in message:
            return Grade(0.0, f"grader {self.label} failed: {message['error']}")
        return Grade(float(message["score"]), str(message["reason"]))

    def _start(self) -> Grade | None:
        """Start the worker; a Grade saying why when it did not come up (a file that cannot
        be used stays broken for every answer; a slow start is retried on the next one)."""
        command = [sys.executable, "-m", WORKER, self.spec, f"{self.limits.time_s:g}",
                   str(self.limits.memory_mb)]
        env = job_environment()
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", env=env, creationflags=flags,
            start_new_session=sys.platform != "win32")
        self.lines, self.said = queue.Queue(), [""]
        self.threads = [threading.Thread(target=_read, args=(self.process.stdout, self.lines),
                                         daemon=True),
                        threading.Thread(target=_drain, args=(self.process.stderr, self.said),
                                         daemon=True)]
        for thread in self.threads:
            thread.start()
        first = self._wait(self.limits.start_s)
        if first is _TIMEOUT:
            self.kill()
            return Grade(0.0, f"grader {self.label} did not start within"
                         f" {self.limits.start_s:g} s")
        if first is None:
            self.broken = self._crashed().reason
        elif "fatal" in first:
            self.kill()
            self.broken = f"grader {self.label} cannot be used: {first['fatal']}"
        return None

    def _wait(self, limit: float) -> dict[str, Any] | None:
        """The worker's next message; ``_TIMEOUT`` past ``limit``; None when it ended."""
        deadline = time.monotonic() + limit
        while True:
            try:
                line = self.lines.get(timeout=POLL_S)
            except queue.Empty:
                if self.should_stop():
                    self.kill()
                    raise GradingStoppedError(f"stopped while grader {self.label} was"
                                              " scoring") from None
                if time.monotonic() >= deadline:
                    return _TIMEOUT
                continue
            if line is None:
                return None
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue  # not ours: the protocol channel carries only our lines
            if isinstance(message, dict):
                return message

    def _crashed(self) -> Grade:
        """The reason for an answer the worker died on (it is restarted for the next one)."""
        code = self.kill()
        said = " ".join(self.said[0].split())[-TAIL_CHARS:]
        hint = (": a grader must return its score, not exit (exit code 0)" if code == 0 else
                f" (killed by signal {-code}; out of its {self.limits.memory_mb} MB memory"
                " limit?)" if code is not None and code < 0 else f" (exit code {code})")
        return Grade(0.0, f"grader {self.label} ended without an answer{hint}"
                     + (f"; it printed: {said}" if said else ""))

    def kill(self) -> int | None:
        """End the worker and everything it started; returns its exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        _kill_group(process)  # also when it exited by itself: what it started may live on
        try:
            code: int | None = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        # The readers end at the pipes' end (the whole group is dead); a stream is closed only
        # once its reader is done, never under it.
        for thread, stream in zip(self.threads, (process.stdout, process.stderr), strict=False):
            thread.join(timeout=2)
            if stream is not None and not thread.is_alive():
                stream.close()
        self.threads = []
        return code

    def close(self) -> None:
        """Let the worker end by itself (end of its input), or kill it."""
        process = self.process
        if process is not None and process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=2)
        self.kill()


def _read(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    """Each line the worker writes, then None at its end (the queue is this worker's own)."""
    for line in iter(lambda: stream.readline(1_000_000), ""):
        lines.put(line)
    lines.put(None)


def _drain(stream: IO[str], said: list[str]) -> None:
    """Keep the end of what the worker writes to stderr (its prints go there too)."""
    for chunk in iter(lambda: stream.read(4096), ""):
        said[0] = (said[0] + chunk)[-4 * TAIL_CHARS:]


def _kill_group(process: subprocess.Popen[str]) -> None:
    if sys.platform == "win32":
        if process.poll() is None:
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)],
                           capture_output=True, check=False)
            process.kill()
        return
    _kill_tree(process.pid)
    try:
        os.killpg(process.pid, signal.SIGKILL)  # its own session: the grader's children too
    except ProcessLookupError:
        pass


def _kill_tree(pid: int) -> None:
    """Kill every process under the worker, those in sessions of their own too (the worker
    is their subreaper on Linux, ``worker.adopt_orphans``). A few passes, because a process
    may fork while the tree is read; the worker itself dies with its group afterwards."""
    import psutil  # only a worker that is killed pays for it

    for _ in range(5):
        try:
            below = psutil.Process(pid).children(recursive=True)
        except psutil.Error:  # the worker is gone already: what it started was reparented
            return
        if not below:
            return
        for child in below:
            with contextlib.suppress(psutil.Error):
                child.kill()


class IsolatedGrader(Grader):
    """A grader spec scored in a :class:`GraderProcess`. ``keep_alive`` keeps the worker
    between calls (a job closes it at the end); otherwise each batch has its own worker."""

    isolated = True

    def __init__(self, spec: str, name: str, inner: Grader | None = None,
                 limits: GraderLimits = DEFAULT_LIMITS, keep_alive: bool = False) -> None:
        self.spec, self.name, self.inner = spec, name, inner
        self.keep_alive = keep_alive
        self.worker = GraderProcess(spec, name, limits)
        if keep_alive:
            atexit.register(self.close)

    @property
    def limits(self) -> GraderLimits:
        return self.worker.limits

    def configure(self, limits: GraderLimits, should_stop: StopCheck, keep_alive: bool) -> None:
        self.worker.limits, self.worker.should_stop = limits, should_stop
        if keep_alive and not self.keep_alive:
            atexit.register(self.close)
        self.keep_alive = keep_alive

    def score_batch(self, prompts: Sequence[str], responses: Sequence[str],
                    references: Sequence[str | None]) -> list[Grade]:
        try:
            return [self.score(p, r, ref) for p, r, ref in zip(prompts, responses, references,
                                                               strict=True)]
        finally:
            if not self.keep_alive:
                self.worker.close()

    def score(self, prompt: str, response: str, reference: str | None = None) -> Grade:
        try:
            return super().score(prompt, response, reference)
        finally:
            if not self.keep_alive:
                self.worker.close()

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        return self.worker.grade(prompt, response, reference)

    def close(self) -> None:
        self.worker.close()


def isolate(grader: Grader, limits: GraderLimits = DEFAULT_LIMITS,
            should_stop: StopCheck = _never, keep_alive: bool = True) -> Grader:
    """``grader`` with every rule scored in a worker process under ``limits``: a combination
    without a judge or a Python file is one worker; a judge (a bounded llama.cpp pass, loaded
    once by its caller) stays where it is."""
    if isinstance(grader, IsolatedGrader):
        grader.configure(limits, should_stop, keep_alive)
        return grader
    spec = getattr(grader, "spec", None)
    if spec and not _has_own_process(grader):
        wrapped = IsolatedGrader(spec, grader.name, grader, limits, keep_alive)
        wrapped.configure(limits, should_stop, keep_alive)
        return wrapped
    parts = getattr(grader, "parts", None)
    if not parts:
        return grader  # a judge: its own engine, bounded by its context window
    if isinstance(grader, WeightedMean):
        return WeightedMean([(isolate(g, limits, should_stop, keep_alive), w)
                             for g, w in grader.parts])
    isolated = [isolate(part, limits, should_stop, keep_alive) for part in parts]
    return AllOf(isolated) if isinstance(grader, AllOf) else AnyOf(isolated)


def _has_own_process(grader: Grader) -> bool:
    """Whether a judge or an already isolated grader (a Python file) is inside."""
    if getattr(grader, "isolated", False) or getattr(grader, "machine_made", False):
        return True
    return any(_has_own_process(p[0] if isinstance(p, tuple) else p)
               for p in getattr(grader, "parts", None) or [])


def close_all(grader: Grader) -> None:
    """Close every worker inside ``grader`` (a job's last act)."""
    if isinstance(grader, IsolatedGrader):
        grader.close()
    for part in getattr(grader, "parts", None) or []:
        close_all(part[0] if isinstance(part, tuple) else part)
