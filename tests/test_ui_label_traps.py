"""Issue 21 section 3, on the Label page (real key presses, real database): after new
candidates arrive, U shows the next one instead of "All caught up" beside "31 left"; redo of a
gold edit shows the gold text, not the answer it was edited from."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from ui.context import AppContext, Changes
from ui.pages.label_page import LabelPage

__all__ = ["context"]


def _page(context: AppContext, qtbot: QtBot) -> LabelPage:
    page = LabelPage(context)
    qtbot.addWidget(page)
    page.resize(1000, 680)
    page.show()
    qtbot.waitUntil(lambda: page.session.current is not None, timeout=5000)
    return page


def test_new_candidates_are_queued_after_the_queue_said_nothing_left(
        context: AppContext, store: Store, qtbot: QtBot) -> None:
    prompt = store.add_prompt("What is 2+2?")
    store.add_response(prompt, "4", origin="model", model="m")
    page = _page(context, qtbot)
    # The item after this one was fetched ahead: there was none.
    qtbot.waitUntil(lambda: page.session.prefetch_ready, timeout=5000)
    assert page.session.prefetched is None
    with qtbot.waitSignal(context.ops.external_write, timeout=5000):  # as a job's writes
        new = [store.add_response(prompt, f"{n} apples", origin="model", model="m")
               for n in range(3)]  # a Generate job's candidates, written by its process
    context.announce(Changes(responses=True, prompt_ids=frozenset({prompt})))  # its runner
    qtbot.waitUntil(lambda: "4 left" in page.progress.text(), timeout=5000)  # with this one
    with qtbot.waitSignal(page.session.labeled, timeout=5000):
        qtbot.keyClick(page, Qt.Key.Key_U)
    qtbot.waitUntil(lambda: page.session.current is not None, timeout=5000)
    assert page.session.current.responses[0].id in new
    assert page.body.currentIndex() == 1  # the item, not "All caught up"


def test_redo_of_a_gold_edit_shows_the_gold_text(context: AppContext, store: Store,
                                                 qtbot: QtBot) -> None:
    prompt = store.add_prompt("Name a prime.")
    store.add_response(prompt, "Nine.", origin="model", model="m")
    page = _page(context, qtbot)
    with qtbot.waitSignal(page.item_drawn, timeout=5000,
                          check_params_cb=lambda item: item is not None):
        qtbot.keyClick(page, Qt.Key.Key_3)
    qtbot.keyClick(page, Qt.Key.Key_E)
    page.editor.setPlainText("Seven.")
    with qtbot.waitSignal(page.session.labeled, timeout=5000):
        qtbot.keyClick(page.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    with qtbot.waitSignal(page.item_drawn, timeout=5000):
        qtbot.keyClick(page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert page.editor.toPlainText() == "Nine."  # undone: the answer it started from
    assert "Saved as gold" not in page.view.edit_note.text()
    with qtbot.waitSignal(page.item_drawn, timeout=5000):
        qtbot.keyClick(page, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
                       | Qt.KeyboardModifier.ShiftModifier)
    assert page.view.edit_note.text().startswith("Saved as gold")
    assert page.editor.toPlainText() == "Seven."  # what was saved, under "Saved as gold"
    assert [r.text for r in store.responses_for(prompt) if r.origin == "human"] == ["Seven."]
