"""The one background-operation helper: store work runs on a single worker thread that owns
the :class:`Store` connection; results come back on the UI thread.

    context.ops.run(lambda store: store.counts(), on_success=show, on_failure=report)
    context.ops.run(lambda store: store.delete_prompt(7), changes=Changes(prompts=True))

``changes`` declares what a successful operation changed (or computes it from the result);
:attr:`Ops.changed` announces it after ``on_success``, even when the owner is gone: the data
changed all the same.

``fn`` must never touch a widget. Operations run one at a time, in the order they were
submitted, so a label written by one op is visible to the next. Long operations use
:meth:`Ops.run_task`, whose ``fn(store, task)`` may report progress and check cancellation.

Reads that may take long on a big store (the Data page's pages, counts, detail and readiness)
go through :meth:`Ops.read`: a second worker with its own connection (WAL lets it read while
the first one writes), so a label commit never waits behind them. A read submitted after a
write's announcement sees that write.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal

from studio.db.store import Store
from studio.errors import StudioError
from ui.changes import Changes

log = logging.getLogger(__name__)

OPEN_ATTEMPTS = 50
# While idle, the worker checks PRAGMA data_version this often: one cheap read that notices
# writes by child processes, the CLI or a second window, without polling tables.
WATCH_INTERVAL_S = 0.5
Success = Callable[[Any], None]
Failure = Callable[[BaseException], None]
# What a successful operation changed: fixed, or computed from its result (None: nothing).
Declared = Changes | Callable[[Any], Changes | None] | None


class Task:
    """What a long operation sees of itself: progress reporting and the cancel flag."""

    def __init__(self, ops: Ops, title: str):
        self._ops = ops
        self.title = title
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def progress(self, done: int, total: int) -> None:
        # Emitted from the worker; Qt queues it to the UI thread.
        self._ops.progress.emit(self.title, done, total)


@dataclass
class _Job:
    fn: Callable[..., Any]
    on_success: Success | None
    on_failure: Failure | None
    owner: QObject | None
    task: Task | None = None
    changes: Declared = None
    queued: bool = True  # False for call(): the caller waits, nothing is delivered
    result: Any = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Ops(QObject):
    """Runs store operations on one worker thread; delivers results on the UI thread."""

    finished = Signal(object)  # a _Job; internal: carries a result across threads
    failed = Signal(str)  # the message of an operation that failed with no on_failure
    progress = Signal(str, int, int)  # title, done, total of a running Task
    busy_changed = Signal(bool)
    external_write = Signal()  # another connection committed to the database
    changed = Signal(object)  # Changes declared by an operation that succeeded

    def __init__(self, db_path: Path | str, parent: QObject | None = None, held: bool = False):
        """``held``: the worker opens the store and runs queued work only after
        :meth:`release`. At start-up the window is built and painted first: on two cores the
        worker (opening the store loads sqlite-utils' plugins; then the first page's queries)
        would otherwise compete with building the window for the CPU and the GIL."""
        super().__init__(parent)
        self._db_path = Path(db_path)
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._reads: queue.Queue[_Job | None] = queue.Queue()
        self._pending = 0
        # The reader opens after the writer: the first open may migrate a big store for
        # minutes, and the reader must not give up waiting for that lock.
        self._writer_opened = threading.Event()
        self._released = threading.Event()
        if not held:
            self._released.set()
        self.finished.connect(self._deliver)
        self._thread = threading.Thread(target=self._work, name="store-worker")
        self._thread.start()
        self._reader = threading.Thread(target=self._read_work, name="store-reader")
        self._reader.start()

    # ---- public ------------------------------------------------------------------------
    def run(self, fn: Callable[[Store], Any], on_success: Success | None = None,
            on_failure: Failure | None = None, owner: QObject | None = None,
            changes: Declared = None) -> None:
        """Queue ``fn(store)``. Callbacks are skipped if ``owner`` was deleted meanwhile."""
        self._submit(_Job(fn, on_success, on_failure, owner, changes=changes))

    def read(self, fn: Callable[[Store], Any], on_success: Success | None = None,
             on_failure: Failure | None = None, owner: QObject | None = None) -> None:
        """Queue a read on the reader worker: it never delays the writes of :meth:`run`.

        ``fn`` may still write a little (readiness brings its stale counts up to date in short
        transactions of its own), but it declares no changes."""
        self._submit(_Job(fn, on_success, on_failure, owner), self._reads)

    def run_task(self, title: str, fn: Callable[[Store, Task], Any],
                 on_success: Success | None = None, on_failure: Failure | None = None,
                 owner: QObject | None = None, changes: Declared = None) -> Task:
        """Queue a long ``fn(store, task)``; the returned Task can cancel it."""
        task = Task(self, title)
        self._submit(_Job(fn, on_success, on_failure, owner, task=task, changes=changes))
        return task

    def call(self, fn: Callable[[Store], Any], timeout: float = 30.0) -> Any:
        """Run ``fn`` on the worker and wait for it: for tests and shutdown only."""
        job = _Job(fn, None, None, None, queued=False)
        self._queue.put(job)
        if not job.done.wait(timeout):
            raise TimeoutError("the store worker did not answer")
        if job.error is not None:
            raise job.error
        return job.result

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def release(self) -> None:
        """Let a worker made ``held`` open the store and run what was queued (idempotent)."""
        self._released.set()

    def shutdown(self) -> None:
        """Finish queued work, close the connections and stop the threads (idempotent)."""
        self.release()
        for thread, jobs in ((self._reader, self._reads), (self._thread, self._queue)):
            if thread.is_alive():
                jobs.put(None)
                thread.join()

    # ---- internals ---------------------------------------------------------------------
    def _submit(self, job: _Job, jobs: queue.Queue[_Job | None] | None = None) -> None:
        if not self._thread.is_alive() or not self._reader.is_alive():
            # The window closed: a debounce timer or a late answer may still ask for work,
            # and nobody would see its result (the I/O pool drops such calls too).
            log.debug("store worker stopped; %r not run", job.fn)
            return
        self._pending += 1
        if self._pending == 1:
            self.busy_changed.emit(True)
        (self._queue if jobs is None else jobs).put(job)

    def _open(self) -> Store:
        # Switching a new database to WAL needs a moment of exclusive access; another
        # connection opening it at the same time (a backend, the CLI) makes that fail fast.
        for _ in range(OPEN_ATTEMPTS - 1):
            try:
                return Store.open(self._db_path)
            except sqlite3.OperationalError as error:
                if "locked" not in str(error):
                    raise
                time.sleep(0.1)
        return Store.open(self._db_path)

    def _work(self) -> None:
        self._released.wait()
        store, error = self._open_or_error()
        self._writer_opened.set()
        if store is None:
            self._refuse(self._queue, error)
            return
        try:
            self._serve(store)
        finally:
            store.close()

    def _read_work(self) -> None:
        self._writer_opened.wait()
        store, error = self._open_or_error()
        if store is None:
            self._refuse(self._reads, error)
            return
        try:
            while (job := self._reads.get()) is not None:
                self._execute(store, job)
        finally:
            store.close()

    def _open_or_error(self) -> tuple[Store | None, BaseException | None]:
        try:
            return self._open(), None
        except (sqlite3.Error, OSError, StudioError) as error:
            return None, error

    def _refuse(self, jobs: queue.Queue[_Job | None], error: BaseException | None) -> None:
        """Every queued operation fails with the reason, so the UI can say it."""
        while (job := jobs.get()) is not None:
            job.error = StudioError(f"cannot open the database {self._db_path}: {error}")
            job.done.set()
            if job.queued:
                self.finished.emit(job)

    def _serve(self, store: Store) -> None:
        """Run jobs in order; between jobs, watch for commits by other connections."""
        seen = store.data_version()
        while True:
            try:
                job = self._queue.get(timeout=WATCH_INTERVAL_S)
            except queue.Empty:
                version = store.data_version()
                if version != seen:
                    seen = version
                    self.external_write.emit()
                continue
            if job is None:
                return
            self._execute(store, job)

    def _execute(self, store: Store, job: _Job) -> None:
        try:
            job.result = job.fn(store, job.task) if job.task else job.fn(store)
        # The worker must outlive any failing operation; the error is delivered to the UI
        # thread (on_failure, else the `failed` signal and the log), never swallowed.
        except Exception as error:  # noqa: BLE001
            job.error = error
            log.debug("operation failed:\n%s", traceback.format_exc())
        job.done.set()
        if job.queued:
            self.finished.emit(job)

    def _deliver(self, job: _Job) -> None:
        self._pending -= 1
        if self._pending == 0:
            self.busy_changed.emit(False)
        alive = job.owner is None or shiboken6.isValid(job.owner)
        if job.error is None:
            if alive and job.on_success is not None:
                job.on_success(job.result)
            self._announce(job)
        elif not alive:
            return
        elif job.on_failure is not None:
            job.on_failure(job.error)
        else:
            log.error("background operation failed: %s", job.error)
            self.failed.emit(str(job.error))

    def _announce(self, job: _Job) -> None:
        if not self._thread.is_alive() or not self._reader.is_alive():
            return  # shut down (the window closed): no view may re-read any more
        changes = job.changes(job.result) if callable(job.changes) else job.changes
        if changes is not None:
            self.changed.emit(changes)
