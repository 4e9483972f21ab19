"""The training process's side of the run list: its row in the studio database, and the queue.

The database is the ``db`` field of the run folder's config.json (:func:`backends.lib.jobs.
config_db`), as for every job. A run folder written before that field existed still runs: it
falls back to the folder's position (``<data>/runs/<id>`` with ``<data>/studio.db``) and says
so in the log. A run with neither (a bundle trained on another machine) trains without a run
list; its folder is imported later (:mod:`studio.training.bundle_import`).

Only rank 0 of a multi-process run gets here: it alone owns the pid file, events and the row.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from backends.lib.jobs import config_db
from studio.db.store import Store
from studio.errors import NotFoundError
from studio.paths import DataPaths
from studio.training.runs import RunDir, mark_started, record_outcome, start_next

log = logging.getLogger("backends.train")


def run_list_db(run: RunDir) -> Path | None:
    """The database whose run list this run updates, or None (training without one)."""
    try:
        db = config_db(run.path)
    except (OSError, ValueError):  # no ``db`` (an older run folder), or an unreadable config
        return _db_by_position(run)
    if db.is_file():
        return db
    # Never create a database: a path from another machine means this one has no run list.
    log.warning("config.json names the database %s, which is not on this machine; training"
                " without a run list", db)
    return None


def _db_by_position(run: RunDir) -> Path | None:
    db = run.path.parent.parent / "studio.db"
    if run.path.parent.name != "runs" or not db.is_file():
        log.info("config.json names no database ('db'); training without a run list")
        return None
    log.warning("config.json names no database ('db'): a run folder written before the field"
                " existed; using %s, found from the run folder's position", db)
    return db


@dataclass
class RunListEntry:
    """This run's row in the run list, held open for the length of the run."""

    run: RunDir
    store: Store
    paths: DataPaths

    @classmethod
    def open(cls, run: RunDir) -> RunListEntry | None:
        db = run_list_db(run)
        if db is None:
            return None
        return cls(run, Store.open(db), DataPaths(db.parent))

    def started(self) -> None:
        try:
            mark_started(self.store, self.run.path.name, os.getpid())
        except NotFoundError:
            log.warning("run %s is not in the run list; training without it", self.run.path.name)

    def ended(self) -> None:
        """Record the outcome, then start the next queued run: the queue advances with no app
        open (:func:`studio.training.runs.start_next`, the app's use case's implementation)."""
        try:
            events = self.run.events_list()
            if events and events[-1].is_terminal:
                record_outcome(self.store, self.run.path.name, events[-1])
            self.run.pid_file.unlink(missing_ok=True)
            start_next(self.store, self.paths)
        except NotFoundError:
            log.warning("run %s is not in the run list", self.run.path.name)
        finally:
            self.store.close()
