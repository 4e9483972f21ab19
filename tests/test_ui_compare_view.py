"""Issue 11 items 3, 8 and 10 on the Compare page, without chat workers: what each pane
shows after a vote, Markdown and line breaks, voting keys, the win-rate line and hints."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.rounds.votes import PairStats
from ui.context import AppContext
from ui.pages.compare_page import ComparePage, winrate_text

__all__ = ["context"]

HAIKU = "An old silent pond\nA frog jumps into the pond\nSplash! Silence again"


@pytest.fixture
def page(context: AppContext, store: Store, qtbot: QtBot) -> ComparePage:
    widget = ComparePage(context)
    qtbot.addWidget(widget)
    widget.resize(1280, 800)
    widget.show()
    qtbot.waitUntil(lambda: not widget.hint.isHidden(), timeout=5000)
    return widget


def _answered(page: ComparePage, left: str, right: str) -> None:
    """Both panes as they are when two replies have streamed in for one message."""
    page.history = [{"role": "user", "content": "Write a haiku."}]
    for pane, reply, name in zip(page.panes, (left, right), ("base", "tuned"), strict=True):
        pane.target = (name, f"/m/{name}.gguf", None)
        pane.reply = reply
        pane.render(page.history)
    page.voted = False
    page._update_buttons()


def test_each_pane_keeps_its_own_reply_after_the_vote(page: ComparePage) -> None:
    _answered(page, "Left answer about ponds.", "Right answer about frogs.")
    page._voted("a")
    left, right = (p.view.toPlainText() for p in page.panes)
    assert "Left answer about ponds." in left
    assert "Right answer" not in left
    assert "Right answer about frogs." in right
    assert "Left answer" not in right
    assert page.history[-1] == {"role": "assistant", "content": "Left answer about ponds."}


def test_replies_render_markdown_and_keep_line_breaks(page: ComparePage) -> None:
    _answered(page, HAIKU, "Use:\n\n```python\nprint('hi')\n```")
    left, right = (p.view.toPlainText() for p in page.panes)
    assert "An old silent pond\u2028A frog" in left or "An old silent pond\nA frog" in left
    assert "```" not in right
    assert "print('hi')" in right


def test_vote_keys(page: ComparePage, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    votes: list[str] = []
    monkeypatch.setattr(page, "vote", votes.append)
    _answered(page, "one", "two")
    page.setFocus()
    for key in (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_T, Qt.Key.Key_X):
        qtbot.keyClick(page, key)
    assert votes == ["a", "b", "tie", "both_bad"]


def test_winrate_line_describes_the_pair_on_screen() -> None:
    stats = [PairStats("base", "old", 3, 1), PairStats("base", "tuned", 1, 4, ties=1)]
    text = winrate_text(stats, ("base", "tuned"))
    assert text.startswith("Blind win-rate on screen: base wins 20%")
    assert "old" not in text.split("·")[0]
    assert "1 other pair" in text
    assert winrate_text([], ("base", "tuned")) == "No blind votes yet between base and tuned."


def test_no_models_says_an_export_is_needed(page: ComparePage, tmp_path: Path) -> None:
    assert "Export GGUF" in page.hint.text()
    assert not page.start_button.isEnabled()
    assert "export" in page.start_button.toolTip().lower()
