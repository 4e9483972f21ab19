"""The one way a child process starts, is followed and is stopped.

Every job (train, export, generate, judge, fetch, eval, GGUF import, demo model, bundle
preparation) is a config dataclass written to a job folder, then started as::

    python -m backends.<module> --job-dir <absolute job folder>

with an argument list (never a shell line), stdin closed (so no library can ever prompt,
e.g. transformers' "trust remote code? [y/N]"), and stdout/stderr appended to
``<job folder>/<module>.log``. The job appends its events to ``events.jsonl``: the one event
stream, tailed by the UI and the CLI alike, so a job never depends on its parent's pipes and
survives the parent being killed.

The job side is one shape too: ``make_job_parser`` and ``run_job`` in ``backends.lib.jobs`` (a
test holds every ``backends`` entry point to it). The chat worker (``backends.chat``) is the one
interactive process: it is started by :func:`worker_command` without a job folder and speaks
a request/response protocol on its pipes (commands on stdin, events on stdout).

Stopping is one mechanism too: :func:`request_stop` writes ``stop`` into the job folder and
(where the OS has signals) sends SIGTERM to wake the job up; the job's ``StopFlag`` checks
both, finishes or checkpoints the item in progress and writes ``cancelled``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.events import Event, EventTail
from studio.jobs.config import save_config

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EVENTS = "events.jsonl"
STOP_FILE = "stop"
PID_FILE = "pid"
TERMINAL = frozenset({"finished", "failed", "cancelled"})
# Below this much free space a job that died without a word most likely ran out of disk.
LOW_DISK_BYTES = 64 * 2**20


def worker_command(module: str) -> list[str]:
    """The argument list of ``python -m backends.<module>``; only the chat worker, which speaks
    a request/response protocol on its pipes, starts without a job folder."""
    return [sys.executable, "-m", f"backends.{module}"]


def job_command(module: str, job_dir: Path) -> list[str]:
    """The argument list that starts ``backends.<module>`` on ``job_dir`` (made absolute)."""
    return [*worker_command(module), "--job-dir", str(Path(job_dir).resolve())]


def job_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: ours, plus the project on PYTHONPATH and unbuffered output."""
    env = dict(os.environ if base is None else base)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(PROJECT_ROOT) + (os.pathsep + path if path else "")
    env["PYTHONUNBUFFERED"] = "1"
    # Never let a hub library wait on a prompt or a network that is not there for long.
    env.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    return env


def new_job_dir(jobs_root: Path, kind: str) -> Path:
    """A fresh, uniquely named job folder ``<jobs_root>/<kind>-<time>-<microseconds>-<random>``.
    Names sort in the order the folders were made: two jobs in the same second (a cancelled
    eval and its resume) used to sort by their random part."""
    now = time.time_ns() // 1000
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now / 1e6))
    folder = Path(jobs_root).resolve() / f"{kind}-{stamp}-{now % 1_000_000:06d}-" \
        f"{secrets.token_hex(3)}"
    folder.mkdir(parents=True)
    return folder


def write_job(config: Any, jobs_root: Path, kind: str) -> Path:
    """Create a job folder and write ``config`` (a dataclass) to its ``config.json``."""
    folder = new_job_dir(jobs_root, kind)
    save_config(config, folder)
    return folder


def spawn(module: str, job_dir: Path, detached: bool = False) -> subprocess.Popen[bytes]:
    """Start the job: stdin closed, output to the job's log file; ``detached`` puts it in its
    own session so it outlives the caller (training)."""
    job_dir = Path(job_dir).resolve()
    flags = 0
    if detached and sys.platform == "win32":
        flags = getattr(subprocess, "DETACHED_PROCESS", 0) | \
            getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    with (job_dir / f"{module}.log").open("ab") as log:
        return subprocess.Popen(job_command(module, job_dir), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, cwd=str(PROJECT_ROOT),
                                env=job_environment(), start_new_session=detached,
                                creationflags=flags)


# A tiny intermediate process starts the job in a new session and exits at once, so the job is
# nobody's child: it outlives the app or terminal, and leaves no zombie in a long-lived app.
_DETACH = (
    "import subprocess, sys\n"
    "flags = getattr(subprocess, 'DETACHED_PROCESS', 0)"
    " | getattr(subprocess, 'CREATE_NEW_PROCESS_GROUP', 0)\n"
    "with open(sys.argv[1], 'ab') as log:\n"
    "    child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log,"
    " stderr=subprocess.STDOUT, start_new_session=True, creationflags=flags)\n"
    "print(child.pid)\n"
)


def spawn_detached(module: str, job_dir: Path) -> int:
    """Start the job detached (own session, not our child, stdin closed); returns its pid."""
    job_dir = Path(job_dir).resolve()
    result = subprocess.run([sys.executable, "-c", _DETACH, str(job_dir / f"{module}.log"),
                             *job_command(module, job_dir)],
                            capture_output=True, text=True, check=True, cwd=str(PROJECT_ROOT),
                            env=job_environment(), stdin=subprocess.DEVNULL)
    return int(result.stdout.strip())


def log_tail(job_dir: Path, module: str, lines: int = 12) -> str:
    """The last lines of the job's log: what explains a job that died without an event."""
    try:
        text = (Path(job_dir) / f"{module}.log").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def crash_report(job_dir: Path, module: str, *others: Path | str) -> str:
    """What explains a job that died without a last event: its log's tail, and whether the
    disk of its folder (or of ``others``, such as its database) is full. A job that ran out of
    space cannot write its log or its ``failed`` event, so an empty log alone says nothing."""
    tail = log_tail(job_dir, module)
    lines = [tail or f"its log ({module}.log) is empty and it wrote no last event"]
    disks: dict[int, Path] = {}  # one line per disk, named by the first of the paths on it
    for where in (_existing(Path(p)) for p in (job_dir, *others)):
        disks.setdefault(where.stat().st_dev, where)
    for where in disks.values():
        free = shutil.disk_usage(where).free
        if free < LOW_DISK_BYTES:
            lines.append(f"the disk holding {where} has {free / 2**20:.1f} MB free: the job"
                         " probably ran out of space. Free some space and run it again.")
    return "\n".join(lines)


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def follow(job_dir: Path, process: subprocess.Popen[bytes] | None,
           on_event: Callable[[Event], None], poll_s: float = 0.2,
           is_alive: Callable[[], bool] | None = None) -> Event | None:
    """Tail ``events.jsonl`` and call ``on_event`` for each event until the job has ended;
    returns its terminal event, or None when it died without one (a crash: see its log)."""
    tail = EventTail(Path(job_dir) / EVENTS)
    alive = is_alive or (lambda: process is not None and process.poll() is None)
    last: Event | None = None
    while True:
        running = alive()
        for event in tail.read_new():
            on_event(event)
            if event.event in TERMINAL:
                last = event
        if not running:
            return last
        time.sleep(poll_s)


def run_foreground(module: str, job_dir: Path, on_event: Callable[[Event], None]) -> Event | None:
    """Start a job and follow it to the end (the CLI's way). Ctrl+C asks the job to stop and
    keeps following until it has written ``cancelled``."""
    process = spawn(module, job_dir)
    while True:
        try:
            return follow(job_dir, process, on_event)
        except KeyboardInterrupt:
            request_stop(job_dir, process.pid)


def request_stop(job_dir: Path, pid: int | None = None) -> None:
    """Ask a job to stop: the ``stop`` file (every OS) and SIGTERM (where there are signals)."""
    job_dir = Path(job_dir)
    (job_dir / STOP_FILE).write_text(str(time.time()))
    pid = pid if pid is not None else read_pid(job_dir)
    if pid is not None and sys.platform != "win32":
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass  # already gone: the stop file still tells a resumed job nothing wrong


def clear_stop(job_dir: Path) -> None:
    """Forget a stop request (a job resumed in the same folder must not stop at once)."""
    (Path(job_dir) / STOP_FILE).unlink(missing_ok=True)


def stop_requested(job_dir: Path) -> bool:
    return (Path(job_dir) / STOP_FILE).exists()


def write_pid(job_dir: Path) -> None:
    """Called by the job itself as its first act, so a re-attaching app can find it."""
    (Path(job_dir) / PID_FILE).write_text(str(os.getpid()))


def read_pid(job_dir: Path) -> int | None:
    try:
        return int((Path(job_dir) / PID_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def process_alive(pid: int | None, job_dir: Path) -> bool:
    """Whether ``pid`` runs and is this job's (its command line names the job folder), so a
    pid reused by another process after a crash does not count."""
    if pid is None:
        return False
    import psutil  # only callers that check liveness pay for it

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return Path(job_dir).name in " ".join(process.cmdline())
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # someone else's process: alive, and we can't prove it isn't ours


def job_alive(job_dir: Path) -> bool:
    """Whether the process in the job's pid file runs and is this job's."""
    return process_alive(read_pid(job_dir), job_dir)
