"""The I/O pool: file-system work (run folders, events files, model folders) off the UI thread
and off the store worker, so a slow disk never holds a label write back.

    context.io.run(lambda: read_events(path), on_success=show, owner=self)

Same shape as :class:`ui.ops.Ops`, without a store: ``fn()`` must never touch a widget; the
result comes back on the UI thread, and is dropped if ``owner`` was deleted meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal

log = logging.getLogger(__name__)
IO_THREADS = 2  # disk reads overlap a little; more would only queue on the same disk


@dataclass
class _Call:
    future: Future[Any]
    on_success: Callable[[Any], None] | None
    on_failure: Callable[[BaseException], None] | None
    owner: QObject | None


class IoPool(QObject):
    done = Signal(object)  # a _Call; internal: carries a result to the UI thread
    failed = Signal(str)  # the message of a call that failed with no on_failure

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(IO_THREADS, thread_name_prefix="io-pool")
        self._closed = False
        # Queued even when the future is already done at submit: never re-enter the caller.
        self.done.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def run(self, fn: Callable[[], Any], on_success: Callable[[Any], None] | None = None,
            on_failure: Callable[[BaseException], None] | None = None,
            owner: QObject | None = None) -> None:
        if self._closed:
            # The window closed; a store result delivered after that may still ask for a
            # folder check, and nobody would see its answer.
            log.debug("I/O pool closed; %r not run", fn)
            return
        future = self._pool.submit(fn)
        call = _Call(future, on_success, on_failure, owner)
        # Called on the pool's thread; the signal queues the delivery to the UI thread.
        future.add_done_callback(lambda _future: self.done.emit(call))

    def shutdown(self) -> None:
        """Finish what was submitted and stop the threads (idempotent)."""
        self._closed = True
        self._pool.shutdown(wait=True)

    def _deliver(self, call: _Call) -> None:
        if call.owner is not None and not shiboken6.isValid(call.owner):
            return
        error = call.future.exception()
        if error is None:
            if call.on_success is not None:
                call.on_success(call.future.result())
        elif call.on_failure is not None:
            call.on_failure(error)
        else:
            log.error("background file work failed: %s", error)
            self.failed.emit(str(error))
