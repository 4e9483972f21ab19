"""Issue 11 item 2: a reason belongs to the label given on the same item, and every label
says for a moment what was recorded."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from test_ui_label import _press, _wait_item, page
from test_ui_support import context

from studio.db.store import Store
from ui.context import AppContext
from ui.pages.label_page import LabelPage

__all__ = ["context", "page"]


def test_enter_in_the_reason_box_stays_on_the_item(page: LabelPage, qtbot: QtBot) -> None:
    item = _wait_item(qtbot, page)
    qtbot.keyClick(page, Qt.Key.Key_R)
    qtbot.keyClicks(page.reason, "too vague")
    qtbot.keyClick(page.reason, Qt.Key.Key_Return)
    assert page.session.current is item  # Enter did not move on
    assert page.reason.text() == "too vague"
    assert "Reason kept" in page.recorded.text()
    label = _press(qtbot, page, Qt.Key.Key_D)
    assert (label.response_id, label.value, label.reason) == (
        item.responses[0].id, "down", "too vague")
    assert page.recorded.text() == "👎 recorded · reason saved"


def test_a_reason_never_rides_along_to_the_next_item(page: LabelPage, qtbot: QtBot) -> None:
    first = _wait_item(qtbot, page)
    qtbot.keyClick(page, Qt.Key.Key_R)
    qtbot.keyClicks(page.reason, "typo")
    qtbot.keyClick(page.reason, Qt.Key.Key_Escape)
    qtbot.keyClick(page, Qt.Key.Key_Right)  # moved on without labeling
    second = _wait_item(qtbot, page)
    assert second.target != first.target
    assert page.reason.text() == ""
    label = _press(qtbot, page, Qt.Key.Key_U)
    assert (label.response_id, label.reason) == (second.responses[0].id, None)
    assert page.recorded.text() == "👍 recorded"


def test_pairwise_cards_do_not_say_who_wrote_them(context: AppContext, store: Store,
                                                  qtbot: QtBot) -> None:
    prompt = store.add_prompt("Write a haiku.")
    store.add_response(prompt, "human words", origin="human")
    store.add_response(prompt, "model words", origin="model", model="smol")
    context.settings.setValue("label/mode", "pair")
    widget = LabelPage(context)
    qtbot.addWidget(widget)
    widget.show()
    item = _wait_item(qtbot, widget)
    assert item.mode == "pair"
    metas = widget.view.left_card.meta.text() + widget.view.right_card.meta.text()
    assert "human" not in metas
    assert "smol" not in metas


def test_all_caught_up_text_is_not_cut(page: LabelPage, qtbot: QtBot) -> None:
    page.resize(900, 600)
    page.body.setCurrentIndex(0)
    title, text = "All caught up in Thumbs", (
        "Every item that matches the filters is labeled (1,234 today). Change the filters,"
        " switch modes with <b>1 2 3</b>, or undo with <b>Ctrl+Z</b>.<br><br>You skipped 3"
        " item(s): press <b>Enter</b> to go through them again.")
    page.empty.set_text(title, text)
    qtbot.wait(50)
    label = page.empty.text
    assert label.height() >= label.heightForWidth(label.width())
