"""The labeling session behind the Label page: queue, history, undo and redo.

All store work goes through ``context.ops``; the next item is fetched ahead of time, so a
label key shows the next item at once while the label is committed on the store worker.
"""

from __future__ import annotations

import random

from PySide6.QtCore import QObject, Signal

from studio.app.label import LabelHistory, LabelQueue, QueueFilter, QueueItem, mark_relabel
from studio.app.overview import QueueOverview, queue_overview
from studio.db.records import Label
from studio.db.store import Store
from ui.context import AppContext, Changes


class QueueSlot:
    """The session's :class:`LabelQueue`, made on the store worker with that worker's store
    (its SQLite connection belongs to the worker thread). Every use of the queue is an
    operation on the same worker, and operations run in order, so one made by ``make`` is
    there for the fetch queued after it."""

    def __init__(self) -> None:
        self.queue: LabelQueue | None = None

    def make(self, store: Store, annotator: str, mode: str, filter: QueueFilter,
             relabel_share: float, rng: random.Random) -> None:
        self.queue = LabelQueue(store, annotator, mode, filter, relabel_share, rng)

    def get(self) -> LabelQueue:
        if self.queue is None:
            raise RuntimeError("the label queue is used before it was made")
        return self.queue


class LabelSession(QObject):
    item_changed = Signal(object)  # the QueueItem now shown, or None
    progress_changed = Signal(int, int)  # labeled today, remaining
    overview_changed = Signal(object)  # QueueOverview
    labeled = Signal(object)  # the Label just committed
    error = Signal(str)

    def __init__(self, context: AppContext, parent: QObject | None = None):
        super().__init__(parent)
        self.context = context
        self.mode = "thumb"
        self.filter = QueueFilter()
        self.history: list[QueueItem] = []
        self.position = -1
        self.values: dict[str, str] = {}  # target -> my current value, from this session
        self.gold_texts: dict[str, str] = {}  # edit target -> the gold answer saved for it
        self.undo_history: LabelHistory[QueueItem] = LabelHistory()
        self.prefetched: QueueItem | None = None
        self.prefetch_ready = False
        self._fetching = False
        self.waiting = False  # the page shows nothing until the prefetch arrives
        self.today = 0
        self.remaining = 0
        self.rng = random.Random()
        self._generation = 0
        self.slot = self._new_queue()

    # ---- state -------------------------------------------------------------------------
    @property
    def current(self) -> QueueItem | None:
        return self.history[self.position] if 0 <= self.position < len(self.history) else None

    def gold_text(self, item: QueueItem) -> str | None:
        """The gold answer saved for an edit item in this session (shown after a redo or
        going back), or None when it has none now."""
        return self.gold_texts.get(item.target) if self.shown_value(item) == "gold" else None

    def shown_value(self, item: QueueItem) -> str | None:
        """My value for the item, hidden for blind re-labels not yet answered again."""
        value = self.values.get(item.target)
        return value if value != "retracted" else None

    # ---- start and reset ---------------------------------------------------------------
    def restart(self, mode: str | None = None, filter: QueueFilter | None = None) -> None:
        """Start over (mode, filter or annotator changed): new queue, empty history."""
        self.mode = mode or self.mode
        self.filter = filter if filter is not None else self.filter
        self._generation += 1
        self.slot = self._new_queue()
        self.history, self.position, self.prefetched = [], -1, None
        self.prefetch_ready, self._fetching = False, False
        self.waiting = True
        self.item_changed.emit(None)
        self._fetch_next()
        self.refresh_overview()

    def refresh_overview(self) -> None:
        slot, annotator, since = self.slot, self.context.annotator, _local_midnight_iso()
        if slot.queue is None:
            # Made by an operation still queued on the store worker: count once it is there.
            self.context.ops.run(lambda _store: None, owner=self,
                                 on_success=lambda _: self._overview_when_made(slot))
            return

        # On the reader: at a million prompts the count takes seconds, and a label commit on
        # the writer must never wait behind it (bench_store_scale: p95 2.5 s -> 6 ms).
        self.context.ops.read(lambda store: queue_overview(store, slot.get(), annotator, since),
                              on_success=self._on_overview, owner=self)

    def _overview_when_made(self, slot: QueueSlot) -> None:
        if slot is self.slot and slot.queue is not None:  # not replaced meanwhile
            self.refresh_overview()

    def _on_overview(self, overview: QueueOverview) -> None:
        self.today, self.remaining = overview.today, overview.remaining
        self.overview_changed.emit(overview)
        self.progress_changed.emit(self.today, self.remaining)

    def _new_queue(self) -> QueueSlot:
        slot = QueueSlot()
        annotator, mode, filter = self.context.annotator, self.mode, self.filter
        share, rng = self.context.relabel_share, self.rng
        self.context.ops.run(lambda store: slot.make(store, annotator, mode, filter, share, rng),
                             on_failure=self._fail, owner=self)
        return slot

    @property
    def skipped_count(self) -> int:
        """Items skipped this session (read on the UI thread: a size, never the items)."""
        return len(self.slot.queue.skipped) if self.slot.queue is not None else 0

    def _fetch_next(self) -> None:
        """Ask the worker for the queue's next item (one request in flight at a time)."""
        if self._fetching or self.prefetch_ready:
            return
        self._fetching = True
        slot, generation = self.slot, self._generation

        def fetch(_store: Store) -> QueueItem | None:
            return slot.get().next()

        def arrived(item: QueueItem | None) -> None:
            if generation != self._generation:
                return  # a restart made this answer stale
            self._fetching = False
            self.prefetched, self.prefetch_ready = item, True
            if self.waiting:
                self._advance_live()

        def failed(error: BaseException) -> None:
            if generation == self._generation:
                self._fetching = False
                self._fail(error)

        self.context.ops.run(fetch, on_success=arrived, on_failure=failed, owner=self)

    def _advance_live(self) -> None:
        """Show the prefetched item at the end of the history and prefetch the one after."""
        item, self.prefetched, self.prefetch_ready = self.prefetched, None, False
        self.position = len(self.history)
        if item is None:
            self.waiting = True  # the queue is empty: the page says so
            self.item_changed.emit(None)
            return
        self.waiting = False
        self.history.append(item)
        self.item_changed.emit(item)
        self._fetch_next()

    def _forward(self) -> None:
        if self.position < len(self.history) - 1:
            self.position += 1
            self.item_changed.emit(self.current)
        elif self.prefetch_ready:
            self._advance_live()
        else:
            self.waiting = True
            self.position = len(self.history)
            self.item_changed.emit(None)
            self._fetch_next()

    def poll(self) -> None:
        """Look for new items when the queue was empty (after an import, say), or when the
        item fetched ahead said "nothing left" before new candidates came: else the next
        label key shows "All caught up" while the header counts the new ones."""
        stale_end = self.prefetch_ready and self.prefetched is None
        if (self.waiting or stale_end) and not self._fetching:
            self.prefetch_ready = False
            self._fetch_next()

    # ---- navigation --------------------------------------------------------------------
    def back(self) -> None:
        if self.position > 0:
            self.position = min(self.position, len(self.history)) - 1
            self.item_changed.emit(self.current)

    def next(self) -> None:
        """Move on without a label (a skip when at the live end of the queue)."""
        item = self.current
        if item is None:
            return
        if self.position == len(self.history) - 1 and item.target not in self.values:
            slot = self.slot
            self.context.ops.run(lambda _: slot.get().skip(item), owner=self)
        self._forward()

    def revisit_skipped(self) -> None:
        slot = self.slot
        self.context.ops.run(lambda _: slot.get().revisit_skipped(), owner=self)
        self.waiting = True
        self.prefetch_ready = False
        self._fetch_next()

    # ---- labels ------------------------------------------------------------------------
    def label(self, value: str, reason: str | None = None, text: str | None = None) -> bool:
        """Label the current item; committed on the worker, the next item shows at once."""
        item = self.current
        if item is None:
            return False
        annotator, mode = self.context.annotator, item.mode
        source = "relabel" if item.relabel else "label"

        slot = self.slot

        def write(store: Store) -> Label:
            slot.get().labeled_here.add(item.target)  # before the next fetch, on this worker
            if mode == "thumb":
                label = store.label_thumb(item.responses[0].id, value, annotator, reason,
                                          source)
            elif mode == "pair":
                left, right = item.responses
                label = store.label_pair(left.id, right.id, value, annotator, reason, source)
            else:
                parent = item.responses[0].id if item.responses else None
                return store.label_gold(item.prompt.id, text or "", annotator, parent, source)
            if item.relabel:
                mark_relabel(store, label.id)
            return label

        was_new = self.shown_value(item) is None and not item.relabel
        self.values[item.target] = value
        if text is not None:
            self.gold_texts[item.target] = text
        self.undo_history.labeling()
        self.context.ops.run(write, on_success=lambda label: self._written(label, item, was_new),
                             on_failure=lambda error: self._write_failed(error, item), owner=self,
                             changes=Changes(labels=True, responses=item.mode == "edit",
                                             prompt_ids=frozenset({item.prompt.id}), origin=self))
        self._forward()
        return True

    def _written(self, label: Label, item: QueueItem, was_new: bool) -> None:
        self.undo_history.written(label.id, item)
        if was_new:
            self.today += 1
            self.remaining = max(0, self.remaining - 1)
            self.progress_changed.emit(self.today, self.remaining)
        self.labeled.emit(label)

    def _write_failed(self, error: BaseException, item: QueueItem) -> None:
        self.values.pop(item.target, None)
        self.error.emit(f"The label was not saved: {error}")
        self._show_item(item)

    def undo(self) -> None:
        entry = self.undo_history.next_undo()
        if entry is not None:
            label_id, item = entry
            self.context.ops.run(lambda store: store.undo(label_id),
                                 on_success=lambda event: self._undone(event, label_id, item),
                                 on_failure=self._fail, owner=self, changes=self._changes(item))

    def redo(self) -> None:
        entry = self.undo_history.next_redo()
        if entry is not None:
            label_id, item = entry
            self.context.ops.run(lambda store: store.redo(label_id),
                                 on_success=lambda event: self._redone(event, item),
                                 on_failure=self._fail, owner=self, changes=self._changes(item))

    def _changes(self, item: QueueItem) -> Changes:
        return Changes(labels=True, prompt_ids=frozenset({item.prompt.id}), origin=self)

    def _undone(self, event: Label, undone_id: int, item: QueueItem) -> None:
        self.undo_history.undone(undone_id, item)
        self._after_change(event, item, +1 if event.value == "retracted" else 0)

    def _redone(self, event: Label, item: QueueItem) -> None:
        self.undo_history.written(event.id, item)
        self._after_change(event, item, -1 if self.values.get(item.target) == "retracted" else 0)

    def _after_change(self, event: Label, item: QueueItem, remaining_delta: int) -> None:
        self.values[item.target] = event.value
        self.remaining = max(0, self.remaining + remaining_delta)
        self.today = max(0, self.today - remaining_delta)
        self.progress_changed.emit(self.today, self.remaining)
        self._show_item(item)

    def _show_item(self, item: QueueItem) -> None:
        """Go back to an item (after undo, redo or a failed write)."""
        for index in range(len(self.history) - 1, -1, -1):
            if self.history[index].target == item.target:
                self.position = index
                break
        else:
            self.history.append(item)
            self.position = len(self.history) - 1
        self.waiting = False
        self.item_changed.emit(item)

    def _fail(self, error: BaseException) -> None:
        self.error.emit(str(error))


def _local_midnight_iso() -> str:
    from datetime import datetime, time, timezone

    midnight = datetime.combine(datetime.now().date(), time()).astimezone()
    return midnight.astimezone(timezone.utc).isoformat(timespec="microseconds")
