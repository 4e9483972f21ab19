"""The Label page over generated candidates: the model filter, adjacent pairs, and judge
suggestions shown on the item without counting as the person's label."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.labels.queue import QueueItem
from ui.context import AppContext
from ui.pages.label_page import LabelPage

__all__ = ["context"]
SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui-shots"))


@pytest.fixture
def page(context: AppContext, store: Store, qtbot: QtBot) -> LabelPage:
    for p in range(2):
        pid = store.add_prompt(f"Question {p}?", source="demo")
        store.add_response(pid, f"human answer {p}", origin="human")
        for c in range(4):
            store.add_response(pid, f"candidate {c} for {p}", origin="model", model="gen")
    store.label_thumb(2, "up", "judge:demo", reason="p(yes)=0.83", source="judge",
                      annotator_kind="judge")
    widget = LabelPage(context)
    qtbot.addWidget(widget)
    widget.resize(1200, 760)
    widget.show()
    qtbot.waitUntil(lambda: widget.model_box.findText("gen") >= 0, timeout=5000)
    return widget


def _shown(qtbot: QtBot, page: LabelPage) -> QueueItem:
    qtbot.waitUntil(lambda: page.session.current is not None, timeout=5000)
    item = page.session.current
    assert item is not None
    return item


def test_model_filter_and_judge_suggestion(page: LabelPage, qtbot: QtBot, store: Store) -> None:
    page.set_filter(model="gen")
    item = _shown(qtbot, page)
    assert item.responses[0].id == 2
    assert item.responses[0].model == "gen"
    assert page.suggestion.isVisible()
    assert page.suggestion.text() == "Judge demo suggests: 👍 thumbs up · p(good)=0.83"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.grab().save(str(SHOTS / "label-suggestion.png"))
    qtbot.waitUntil(lambda: "8 left" in page.progress.text(), timeout=5000)  # judged: still open
    with qtbot.waitSignal(page.session.labeled, timeout=5000):
        qtbot.keyClick(page, Qt.Key.Key_D)
    nxt = _shown(qtbot, page)
    assert nxt.responses[0].id == 3
    assert not page.suggestion.isVisible()
    mine = [lab for lab in store.current_labels(kind="thumb") if lab.annotator == "ana"]
    assert [(lab.response_id, lab.value) for lab in mine] == [(2, "down")]


def test_adjacent_pairs_in_pairwise_mode(page: LabelPage, qtbot: QtBot) -> None:
    page.set_mode("pair")
    assert page.pairing_box.isVisible()
    page.set_filter(model="gen", pairing="adjacent")
    _shown(qtbot, page)
    qtbot.waitUntil(lambda: "6 left in Pairwise" in page.progress.text(), timeout=5000)
    page.set_filter(pairing="all")
    qtbot.waitUntil(lambda: "12 left in Pairwise" in page.progress.text(), timeout=5000)
    page.set_filter(model="Any")
    qtbot.waitUntil(lambda: "20 left in Pairwise" in page.progress.text(), timeout=5000)
    page.grab().save(str(SHOTS / "label-pairs.png"))
    page.set_mode("thumb")
    assert not page.pairing_box.isVisible()


def test_scopes_for_generate_and_judge(page: LabelPage, qtbot: QtBot, store: Store) -> None:
    item = _shown(qtbot, page)
    scopes = page.prompt_scopes()
    assert [s.caption for s in scopes] == [f"This prompt (#{item.prompt.id})",
                                           "Prompts matching the Label filters", "All prompts"]
    store.add_prompt("elsewhere", source="other")
    assert [s.ids(store) for s in scopes] == [[item.prompt.id], [1, 2, 3], [1, 2, 3]]
