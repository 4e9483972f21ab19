"""Issue 21 section 3, starting a round from the Models page: the cost (candidates and time)
is shown before anything is created, a subset of the prompts is offered and chosen by default,
the round is created only when Generate starts (the real generate backend on the tiny GGUF),
and "Next round…" never silently preselects another model than the tuned one."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.registry import models
from studio.rounds import rounds
from studio.rounds.board import SAMPLE_PROMPTS
from ui.context import AppContext, Changes
from ui.pages.models_page import ModelsPage

__all__ = ["context"]


@pytest.fixture
def page(context: AppContext, qtbot: QtBot) -> ModelsPage:
    widget = ModelsPage(context)
    qtbot.addWidget(widget)
    widget.resize(1024, 700)
    widget.show()
    return widget


def _base(store: Store, demo_model_dir: Path, demo_gguf: Path) -> models.ModelEntry:
    base = models.add_base_model(store, demo_model_dir, name="demo")
    models.add_gguf(store, demo_gguf, base.id, quant="F16")
    return base


def test_round_one_shows_its_cost_and_is_created_by_generate(
        page: ModelsPage, context: AppContext, store: Store, demo_model_dir: Path,
        demo_gguf: Path, qtbot: QtBot) -> None:
    base = _base(store, demo_model_dir, demo_gguf)
    for n in range(80):
        store.add_prompt(f"Count to {n}.")
    context.announce(Changes(models=True))
    view = page.rounds
    qtbot.waitUntil(lambda: len(page.tree.roots()) == 1, timeout=5000)
    page.tree.select_id(base.id)
    qtbot.waitUntil(view.start_button.isEnabled, timeout=5000)
    view.start_button.click()
    qtbot.waitUntil(lambda: view.dialog is not None, timeout=5000)
    dialog = view.dialog
    qtbot.waitUntil(lambda: "(80)" in dialog.scope_group.button(1).text(), timeout=5000)
    assert rounds.list_rounds(store) == []  # opening the dialog created nothing
    assert dialog.scope_group.button(0).text() == f"A sample of up to {SAMPLE_PROMPTS} prompts" \
        f" ({SAMPLE_PROMPTS})"
    assert dialog.scope_group.checkedId() == 0  # the subset, not all 80
    qtbot.waitUntil(lambda: dialog.model_box.currentText() == "demo · F16", timeout=5000)
    assert f"{SAMPLE_PROMPTS * dialog.n.value():,} candidates" in dialog.estimate.text()
    assert "created when you click" in dialog.findChild(type(view.hint)).text()

    dialog.n.setValue(1)
    dialog.max_tokens.setValue(8)
    with qtbot.waitSignal(dialog.runner.ended, timeout=180_000):
        with qtbot.waitSignal(dialog.began, timeout=10_000):
            dialog.start_button.click()
        assert [r.number for r in rounds.list_rounds(store)] == [1]
    assert store.counts()["responses"] > 0
    dialog.start_button.click()  # again: nothing new to write, and no second round
    qtbot.waitUntil(lambda: "Nothing to do" in dialog.message.text(), timeout=10_000)
    assert len(rounds.list_rounds(store)) == 1
    dialog.close()
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=5000)


def test_next_round_from_a_model_without_gguf_preselects_nothing(
        page: ModelsPage, context: AppContext, store: Store, demo_model_dir: Path,
        demo_gguf: Path, tmp_path: Path, qtbot: QtBot) -> None:
    base = _base(store, demo_model_dir, demo_gguf)
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    tuned = models.add_adapter(store, folder, base.id, name="tuned, not exported")
    first = rounds.start_round(store, base.id)
    rounds.update_round(store, first.id, model_id=tuned.id)
    context.announce(Changes(models=True))
    view = page.rounds
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=5000)
    view.select_round(first.id)
    view.next_button.click()
    qtbot.waitUntil(lambda: view.dialog is not None, timeout=5000)
    dialog = view.dialog
    qtbot.waitUntil(lambda: dialog.model_box.count() > 0, timeout=5000)
    assert dialog.model_box.currentIndex() == -1  # not the base's GGUF, silently
    assert not dialog.start_button.isEnabled()
    assert "has no GGUF yet" in dialog.message.text()
    assert "export tuned, not exported" in dialog.findChild(type(view.hint)).text().lower()
    assert len(rounds.list_rounds(store)) == 1  # round 2 only when generating
    dialog.model_box.setCurrentIndex(0)  # chosen knowingly: then it may start
    assert dialog.start_button.isEnabled()
    dialog.close()
