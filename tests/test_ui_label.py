"""The Label page driven by real key presses over a real temporary database."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from test_ui_support import context, seed

from studio.db.store import Store
from studio.labels.queue import QueueItem
from ui.context import AppContext
from ui.pages.label_page import LabelPage

__all__ = ["context"]


@pytest.fixture
def page(context: AppContext, store: Store, qtbot: QtBot) -> LabelPage:
    seed(store, prompts=3, responses=2, tag="general")
    seed(store, prompts=2, responses=2, tag="coding")
    widget = LabelPage(context)
    qtbot.addWidget(widget)
    widget.resize(1100, 760)
    widget.show()
    _wait_item(qtbot, widget)
    return widget


def _wait_item(qtbot: QtBot, page: LabelPage) -> QueueItem:
    if page.session.current is None:
        with qtbot.waitSignal(page.item_drawn, timeout=5000,
                              check_params_cb=lambda item: item is not None):
            pass
    item = page.session.current
    assert item is not None
    return item


def _press(qtbot: QtBot, page: LabelPage, key: Qt.Key,
           modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier,
           widget: QWidget | None = None) -> Any:
    """Press a label key and wait until the label is committed; returns the Label."""
    _wait_item(qtbot, page)  # a key pressed before the next item arrives labels nothing
    with qtbot.waitSignal(page.session.labeled, timeout=5000) as blocker:
        qtbot.keyClick(widget or page, key, modifier)
    return blocker.args[0]


def _mode(qtbot: QtBot, page: LabelPage, key: Qt.Key) -> QueueItem:
    with qtbot.waitSignal(page.item_drawn, timeout=5000,
                          check_params_cb=lambda item: item is not None):
        qtbot.keyClick(page, key)
    return _wait_item(qtbot, page)


def test_thumbs_keys_record_up_and_down_with_annotator(page: LabelPage, qtbot: QtBot,
                                                       store: Store) -> None:
    first = _wait_item(qtbot, page)
    label = _press(qtbot, page, Qt.Key.Key_U)
    assert (label.kind, label.value, label.response_id) == ("thumb", "up",
                                                            first.responses[0].id)
    assert label.annotator == "ana"
    second = _wait_item(qtbot, page)
    assert second.target != first.target
    label = _press(qtbot, page, Qt.Key.Key_D)
    assert (label.value, label.response_id) == ("down", second.responses[0].id)
    stored = {lab.response_id: lab.value for lab in store.current_labels(kind="thumb")}
    assert stored == {first.responses[0].id: "up", second.responses[0].id: "down"}


def test_reason_is_stored_with_the_label(page: LabelPage, qtbot: QtBot) -> None:
    qtbot.keyClick(page, Qt.Key.Key_R)
    assert page.reason.hasFocus() or page.focusWidget() is page.reason
    qtbot.keyClicks(page.reason, "too vague")
    qtbot.keyClick(page.reason, Qt.Key.Key_Return)
    label = _press(qtbot, page, Qt.Key.Key_D)
    assert (label.value, label.reason) == ("down", "too vague")
    assert page.reason.text() == ""


@pytest.mark.parametrize(("key", "value"), [(Qt.Key.Key_A, "left"), (Qt.Key.Key_B, "right"),
                                            (Qt.Key.Key_T, "tie"), (Qt.Key.Key_X, "both_bad")])
def test_pairwise_records_the_side_shown(page: LabelPage, qtbot: QtBot, key: Qt.Key,
                                         value: str) -> None:
    item = _mode(qtbot, page, Qt.Key.Key_2)
    assert item.mode == "pair"
    left, right = item.responses
    label = _press(qtbot, page, key)
    assert (label.kind, label.value) == ("pair", value)
    assert (label.left_id, label.right_id) == (left.id, right.id)
    if value in ("left", "right"):
        winner = left if value == "left" else right
        assert label.chosen_rejected[0] == winner.id


def test_pairwise_sides_are_randomized(page: LabelPage, qtbot: QtBot) -> None:
    _mode(qtbot, page, Qt.Key.Key_2)
    seen = set()
    page.session.rng.seed(3)
    for _ in range(5):
        item = _wait_item(qtbot, page)
        seen.add(item.responses[0].id < item.responses[1].id)
        _press(qtbot, page, Qt.Key.Key_T)
        if page.session.current is None:
            break
    assert seen == {True, False}


def test_edit_saves_gold_linked_to_the_original(page: LabelPage, qtbot: QtBot,
                                                store: Store) -> None:
    item = _mode(qtbot, page, Qt.Key.Key_3)
    original = item.responses[0]
    qtbot.keyClick(page, Qt.Key.Key_E)
    assert page.editor.hasFocus() or page.focusWidget() is page.editor
    page.editor.moveCursor(page.editor.textCursor().MoveOperation.End)
    qtbot.keyClicks(page.editor, ", explained better.")
    label = _press(qtbot, page, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier,
                   page.editor)
    gold = store.response(label.response_id)
    assert (label.kind, label.parent_id) == ("gold", original.id)
    assert gold.text == original.text + ", explained better."
    assert gold.origin == "human"
    assert gold.parent_id == original.id


def test_undo_and_redo_across_the_session(page: LabelPage, qtbot: QtBot, store: Store) -> None:
    first = _wait_item(qtbot, page)
    _press(qtbot, page, Qt.Key.Key_U)
    _press(qtbot, page, Qt.Key.Key_D)
    target = first.target
    with qtbot.waitSignal(page.item_drawn, timeout=5000):
        qtbot.keyClick(page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(page.item_drawn, timeout=5000):
        qtbot.keyClick(page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert page.session.current.target == target  # undo goes back to the item
    assert store.current_labels(kind="thumb") == []
    with qtbot.waitSignal(page.item_drawn, timeout=5000):
        qtbot.keyClick(page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
    values = [lab.value for lab in store.current_labels(kind="thumb")]
    assert values == ["up"]
    assert page.thumb_card.verdict.text() == "Thumbs up"


def _filter_by_tag(qtbot: QtBot, page: LabelPage, tag: str) -> None:
    qtbot.waitUntil(lambda: page.tag_box.findText(tag) >= 0, timeout=5000)
    page.tag_box.setCurrentText(tag)


def test_tag_filter_limits_the_queue(page: LabelPage, qtbot: QtBot) -> None:
    with qtbot.waitSignal(page.item_drawn, timeout=5000,
                          check_params_cb=lambda item: item is not None):
        _filter_by_tag(qtbot, page, "coding")
    for _ in range(4):
        item = _wait_item(qtbot, page)
        assert "coding" in item.prompt.tags
        _press(qtbot, page, Qt.Key.Key_U)
    qtbot.waitUntil(lambda: page.body.currentIndex() == 0, timeout=5000)
    qtbot.waitUntil(lambda: "All caught up" in page.empty.title.text(), timeout=5000)


def test_skip_then_revisit_skipped(page: LabelPage, qtbot: QtBot) -> None:
    with qtbot.waitSignal(page.item_drawn, timeout=5000,
                          check_params_cb=lambda item: item is not None):
        _filter_by_tag(qtbot, page, "coding")
    first = _wait_item(qtbot, page)
    qtbot.keyClick(page, Qt.Key.Key_S)
    for _ in range(3):
        _press(qtbot, page, Qt.Key.Key_U)
    qtbot.waitUntil(lambda: "skipped 1" in page.empty.text.text(), timeout=5000)
    with qtbot.waitSignal(page.item_drawn, timeout=5000,
                          check_params_cb=lambda item: item is not None):
        qtbot.keyClick(page, Qt.Key.Key_Return)
    assert page.session.current.target == first.target


def test_back_shows_the_label_given(page: LabelPage, qtbot: QtBot) -> None:
    _press(qtbot, page, Qt.Key.Key_D)
    _wait_item(qtbot, page)
    qtbot.keyClick(page, Qt.Key.Key_Left)
    assert page.thumb_card.verdict.text() == "Thumbs down"


def test_progress_line_counts_today_and_remaining(page: LabelPage, qtbot: QtBot) -> None:
    qtbot.waitUntil(lambda: "10 left" in page.progress.text(), timeout=5000)
    _press(qtbot, page, Qt.Key.Key_U)
    qtbot.waitUntil(lambda: page.progress.text().startswith("1 labeled today"), timeout=5000)
    assert "9 left" in page.progress.text()


def test_help_opens_on_question_mark(page: LabelPage, qtbot: QtBot) -> None:
    qtbot.keyClick(page, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    assert page.help.isVisible()
    qtbot.keyClick(page.help, Qt.Key.Key_Escape)
    assert not page.help.isVisible()


def test_empty_database_says_what_to_do(context: AppContext, qtbot: QtBot) -> None:
    widget = LabelPage(context)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: "Nothing to label" in widget.empty.title.text(), timeout=5000)


def test_prompts_without_responses_point_to_edit_mode(context: AppContext, store: Store,
                                                      qtbot: QtBot) -> None:
    store.add_prompt("Say hi")
    widget = LabelPage(context)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: "no responses" in widget.empty.title.text(), timeout=5000)
    widget.show()
    item = _mode(qtbot, widget, Qt.Key.Key_3)
    assert item.mode == "edit"
    assert item.responses == ()
