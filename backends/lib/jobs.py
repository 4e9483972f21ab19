"""What every job process shares: the one stop mechanism, the one parser, failure reports.

Every job runs as ``python -m backends.X --job-dir DIR`` (started by
``studio.jobs.launch``); what else it needs (the database, model paths) is in
``DIR/config.json`` as absolute paths. Jobs write events to ``DIR/events.jsonl`` only (never
to a parent's pipe, which may be gone) and results straight into the database in short
transactions, so a cancelled or crashed job keeps what it finished.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import re
import shutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from types import FrameType
from typing import ClassVar, TypeVar

from studio.db.store import Store
from studio.errors import DiskFullError
from studio.events import EventWriter
from studio.jobs.launch import stop_requested, write_pid


class StopFlag:
    """The job side of the one stop mechanism (:func:`studio.jobs.launch.request_stop`): set by
    SIGTERM/SIGINT or by a ``stop`` file in the job folder; jobs check it between items (or
    steps) and stop cleanly."""

    latest: ClassVar[StopFlag | None] = None  # this process's flag, for code deep in a job

    def __init__(self, job_dir: Path | None = None) -> None:
        self.job_dir = job_dir
        StopFlag.latest = self  # signal handlers are per process: the last one installed wins
        self._signalled = False
        signal.signal(signal.SIGTERM, self._handle)
        signal.signal(signal.SIGINT, self._handle)

    @property
    def stop(self) -> bool:
        return self._signalled or (self.job_dir is not None and stop_requested(self.job_dir))

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._signalled = True


Work = Callable[[Path, Store, EventWriter, StopFlag], None]
Item = TypeVar("Item")


def process_items(items: Sequence[Item], handle: Callable[[Item], None], events: EventWriter,
                  flag: StopFlag, stage: str, noun: str,
                  summary: Callable[[], dict[str, int]] = dict) -> bool:
    """Handle each item with progress and ETA events; False when stopped by the flag (the
    ``cancelled`` event, with ``summary()``'s counts, is written then)."""
    start, total = time.monotonic(), len(items)
    for done, item in enumerate(items, start=1):
        if flag.stop:
            events.emit("cancelled", done=done - 1, total=total, **summary())
            return False
        handle(item)
        elapsed = time.monotonic() - start
        events.emit("progress", stage=stage, done=done, total=total,
                    eta_s=round(elapsed / done * (total - done), 1),
                    message=f"{done}/{total} {noun}")
    return True


def make_job_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--job-dir", type=lambda text: Path(text).resolve(), required=True,
                        help="job folder holding config.json")
    return parser


def config_db(job_dir: Path) -> Path:
    """The database a job writes: the ``db`` field of its config.json (an absolute path)."""
    data = json.loads((job_dir / "config.json").read_text(encoding="utf-8"))
    if not data.get("db"):
        raise ValueError(f"{job_dir / 'config.json'}: field 'db' is missing; the job's config"
                         " must name the studio database")
    return Path(data["db"])


def run_job(args: argparse.Namespace, name: str,
            work: Callable[[Path, EventWriter, StopFlag], None]) -> int:
    """Run a job's ``work``; a failure becomes a ``failed`` event and a traceback in its log."""
    flag = StopFlag(args.job_dir)
    events = EventWriter(args.job_dir / "events.jsonl")
    try:
        write_pid(args.job_dir)
        work(args.job_dir, events, flag)
    except Exception as error:  # noqa: BLE001 - a child process reports every failure
        report_failure(args.job_dir, name, events, error)
        return 1
    return 0


def report_failure(job_dir: Path, name: str, events: EventWriter, error: Exception) -> None:
    """Write what can be written about a failure: the traceback to the log, the ``failed``
    event, both to stderr. Each write is tried on its own, because the failure may be a full
    disk that refuses some of them; a full disk is said as such, with the space left."""
    trace = traceback.format_exc()
    # A job that measured the full disk itself (before removing its partial output) says so.
    full = error if isinstance(error, DiskFullError) else \
        disk_full_failure(error, job_dir, f"running the {name} job", list)
    message = str(full) if full else (str(error) or type(error).__name__)
    log = job_dir / f"{name}.log"
    # Each on its own: the event and stderr may get through where the log did not.
    with contextlib.suppress(OSError), log.open("a", encoding="utf-8") as out:
        out.write(trace)  # the launcher's log: keep its lines
    with contextlib.suppress(OSError):
        events.emit("failed", message=message, log=str(log))
    with contextlib.suppress(OSError):  # stderr is the log file: the same disk
        sys.stderr.write(f"{trace}{message}\n")
        sys.stderr.flush()


def run_store_job(args: argparse.Namespace, name: str, work: Work) -> int:
    """:func:`run_job` with the store open for ``work``."""
    def with_store(job_dir: Path, events: EventWriter, flag: StopFlag) -> None:
        store = Store.open(config_db(job_dir))
        try:
            work(job_dir, store, events, flag)
        finally:
            store.close()

    return run_job(args, name, with_store)


# How a full disk shows up below our own code: torch's zip writer ("[enforce fail at
# inline_container.cc] ... file write failed"), safetensors' SafetensorError, SQLite, and
# numpy's short write in llama.cpp's converter ("256000 requested and 11008 written") all
# carry one of these instead of an OSError with ENOSPC.
DISK_FULL_TEXTS = re.compile(r"no space left on device|database or disk is full|disk quota"
                             r" exceeded|inline_container|file write failed|\d+ requested and"
                             r" \d+ written", re.IGNORECASE)


def means_disk_full(error: BaseException) -> bool:
    """Whether ``error`` (or one it was raised from) says the disk ran out of space."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DiskFullError):
            return True
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if DISK_FULL_TEXTS.search(str(current)):
            return True
        current = current.__cause__ or current.__context__
    return False


def disk_full_failure(error: BaseException, where: Path, doing: str,
                      partial: Callable[[], Iterable[Path]]) -> DiskFullError | None:
    """The one "the disk is full (N MB free on ...)" error for a job that ran out of space, or
    None when ``error`` is something else. The free space is measured first (what the person
    has to free), then the ``partial()`` output is removed so nothing half-written is left."""
    if not means_disk_full(error):
        return None
    full = DiskFullError.at(where, doing)
    for path in partial():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return full
