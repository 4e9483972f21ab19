"""What every job process shares: the one stop mechanism, the one parser, failure reports.

Every job runs as ``python -m backends.X --job-dir DIR`` (started by
``studio.jobs.launch``); what else it needs (the database, model paths) is in
``DIR/config.json`` as absolute paths. Jobs write events to ``DIR/events.jsonl`` only (never
to a parent's pipe, which may be gone) and results straight into the database in short
transactions, so a cancelled or crashed job keeps what it finished.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TypeVar

from studio.events import EventWriter
from studio.jobs.launch import stop_requested, write_pid
from studio.labels.store import Store


class StopFlag:
    """The job side of the one stop mechanism (:func:`studio.jobs.launch.request_stop`): set by
    SIGTERM/SIGINT or by a ``stop`` file in the job folder; jobs check it between items (or
    steps) and stop cleanly."""

    def __init__(self, job_dir: Path | None = None) -> None:
        self.job_dir = job_dir
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


def run_store_job(args: argparse.Namespace, name: str, work: Work) -> int:
    """Run ``work`` with the store open; a failure becomes a ``failed`` event and a log."""
    flag = StopFlag(args.job_dir)
    write_pid(args.job_dir)
    events = EventWriter(args.job_dir / "events.jsonl")
    store = None
    try:
        store = Store.open(config_db(args.job_dir))
        work(args.job_dir, store, events, flag)
    except Exception as error:  # noqa: BLE001 - a child process reports every failure
        log = args.job_dir / f"{name}.log"
        with log.open("a", encoding="utf-8") as out:  # the launcher's log: keep its lines
            out.write(traceback.format_exc())
        events.emit("failed", message=str(error) or type(error).__name__, log=str(log))
        sys.stderr.write(traceback.format_exc())
        return 1
    finally:
        if store is not None:
            store.close()
    return 0
