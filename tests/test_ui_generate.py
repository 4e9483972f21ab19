"""The Generate dialog over a real database, running the real generate backend on the tiny
GGUF: from the Data page's selection, re-runs add nothing, Cancel keeps what was finished,
and the Label page then queues one model's candidates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.registry import models
from ui.context import AppContext
from ui.dialogs.generate_dialog import GenerateDialog, PromptScope
from ui.pages.data_page import DataPage

__all__ = ["context"]
SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui-shots"))
TARGET = "demo · F16"


@pytest.fixture
def registered(store: Store, demo_model_dir: Path, demo_gguf: Path) -> str:
    """The demo model as a chat target; returns its name (what candidates are tagged with)."""
    base = models.add_base_model(store, demo_model_dir, name="demo")
    models.add_gguf(store, demo_gguf, base.id, quant="F16")
    return TARGET


def _dialog(qtbot: QtBot, context: AppContext, scopes: list[PromptScope]) -> GenerateDialog:
    dialog = GenerateDialog(context, scopes)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.model_box.count() > 0 and dialog.start_button.isEnabled(),
                    timeout=5000)
    dialog.max_tokens.setValue(12)
    return dialog


def test_generate_from_the_data_pages_selection(context: AppContext, store: Store,
                                                registered: str, qtbot: QtBot) -> None:
    ids = [store.add_prompt(f"Say something about {topic}.") for topic in ("cats", "rain",
                                                                           "tea")]
    page = DataPage(context)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    qtbot.waitUntil(lambda: page.model.rowCount() == 3 and page.model.row_at(2) is not None,
                    timeout=5000)
    selection = page.table.selectionModel()
    for row in (0, 2):
        selection.select(page.model.index(row, 0), QItemSelectionModel.SelectionFlag.Select
                         | QItemSelectionModel.SelectionFlag.Rows)
    scopes = page.prompt_scopes()
    assert [s.caption for s in scopes] == ["Selected prompts", "Prompts matching the filters"]
    dialog = _dialog(qtbot, context, scopes)
    qtbot.waitUntil(lambda: "(2)" in dialog.scope_group.button(0).text(), timeout=5000)
    assert dialog.n.toolTip().startswith("Candidates per prompt")
    assert "rise linearly" in dialog.temperature_min.toolTip()
    dialog.n.setValue(3)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with qtbot.waitSignal(context.changed, timeout=120_000) as changed:
        dialog.start_button.click()
    assert changed.args[0].responses
    qtbot.waitUntil(lambda: not dialog.runner.running, timeout=10_000)
    dialog.grab().save(str(SHOTS / "generate-done.png"))
    stored = [r for pid in (ids[0], ids[2]) for r in store.responses_for(pid)]
    assert 4 <= len(stored) <= 6  # identical samples are stored once
    assert {r.model for r in stored} == {registered}
    assert store.responses_for(ids[1]) == []
    assert dialog.generated_model == registered
    assert "Done" in dialog.strip.status.text()
    dialog.start_button.click()  # same settings again: nothing new
    qtbot.waitUntil(lambda: "Nothing to do" in dialog.message.text(), timeout=10_000)
    assert store.counts()["responses"] == len(stored)


def test_cancel_keeps_the_finished_candidates(context: AppContext, store: Store,
                                              registered: str, qtbot: QtBot) -> None:
    ids = [store.add_prompt(f"Tell a long story number {n}.") for n in range(2)]
    dialog = _dialog(qtbot, context, [PromptScope("These", lambda _: ids)])
    dialog.n.setValue(8)
    dialog.max_tokens.setValue(48)
    with qtbot.waitSignal(dialog.runner.progress, timeout=60_000,
                          check_params_cb=lambda e: e.get("stage") == "generate"):
        dialog.start_button.click()
    assert dialog.strip.cancel_button.isEnabled()
    with qtbot.waitSignal(dialog.runner.cancelled, timeout=60_000):
        dialog.strip.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.runner.running, timeout=10_000)
    kept = store.counts()["responses"]
    assert 1 <= kept < 16
    assert "Cancelled" in dialog.strip.status.text()
    dialog.grab().save(str(SHOTS / "generate-cancelled.png"))
    with qtbot.waitSignal(dialog.runner.finished, timeout=120_000):
        dialog.start_button.click()  # the rest, without duplicates
    qtbot.waitUntil(lambda: not dialog.runner.running, timeout=10_000)
    assert kept < store.counts()["responses"] <= 16


def test_no_registered_model_says_where_to_get_one(context: AppContext, store: Store,
                                                   qtbot: QtBot) -> None:
    store.add_prompt("hello")
    dialog = GenerateDialog(context, [PromptScope("All", lambda _: [1])])
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: "Models" in dialog.message.text(), timeout=5000)
    assert not dialog.start_button.isEnabled()
