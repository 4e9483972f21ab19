"""Read ahead: the next batches of an import prepared on a second thread while the writing
thread inserts the current one.

SQLite releases the GIL while it steps a statement, and an import spends most of its time
there (index and full-text maintenance), so parsing, checking and hashing the next batch in
Python runs on the other core meanwhile. At most ``depth`` prepared batches wait, so memory
stays bounded by a few batches, whatever the file's size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
_POLL_S = 0.05  # how often a producer blocked on a full queue looks for a stop


class _End:
    pass


class _Failed:
    def __init__(self, error: Exception):
        self.error = error


class ReadAhead(Generic[T, R]):
    """``prepare(batch)`` for each batch of ``batches`` on a worker thread, yielded in order by
    iterating; an error on the worker is raised in the iterating thread. Use it as a context
    manager: leaving it (a cancel, an error in the writer) stops and joins the worker."""

    def __init__(self, batches: Iterator[T], prepare: Callable[[T], R], depth: int = 2):
        self._batches = batches
        self._prepare = prepare
        self._queue: queue.Queue[R | _End | _Failed] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-read-ahead", daemon=True)

    def __enter__(self) -> ReadAhead[T, R]:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()

    def __iter__(self) -> Iterator[R]:
        while True:
            item = self._queue.get()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    def _run(self) -> None:
        try:
            for batch in self._batches:
                if not self._put(self._prepare(batch)):
                    return
            self._put(_End())
        # Any error ends the import: it is handed to the writing thread, which raises it
        # inside its transaction (rolled back) exactly as if it had read the file itself.
        except Exception as error:  # noqa: BLE001 - re-raised in the writing thread
            self._put(_Failed(error))
        finally:
            close = getattr(self._batches, "close", None)
            if close is not None:
                close()  # the reader's file is closed here, on its own thread

    def _put(self, item: R | _End | _Failed) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False
