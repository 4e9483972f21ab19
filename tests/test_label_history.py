"""Undo/redo history of a labeling session, without Qt (studio.labels.history)."""

from __future__ import annotations

from studio.labels.history import LabelHistory


def test_undo_takes_the_latest_label_first() -> None:
    history: LabelHistory[str] = LabelHistory()
    history.written(1, "a")
    history.written(2, "b")
    assert history.next_undo() == (2, "b")
    assert history.next_undo() == (1, "a")
    assert history.next_undo() is None


def test_redo_brings_back_what_undo_retracted_and_a_new_label_drops_it() -> None:
    history: LabelHistory[str] = LabelHistory()
    history.written(1, "a")
    label_id, item = history.next_undo() or (0, "")
    history.undone(label_id, item)
    assert history.next_redo() == (1, "a")
    history.written(3, "a")  # the redo's own event is what undo retracts next
    assert history.next_undo() == (3, "a")
    history.undone(3, "a")
    history.labeling()  # a fresh label ends the redo branch
    assert history.next_redo() is None
