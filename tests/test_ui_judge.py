"""The Judge dialog running the real judge backend on the tiny GGUF: judge labels land as
suggestions (not training data), the Data page marks them, and accepting makes them count."""

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
from ui.dialogs.generate_dialog import PromptScope
from ui.dialogs.judge_dialog import JudgeDialog
from ui.pages.data_page import DataPage

__all__ = ["context"]
SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui-shots"))


@pytest.fixture
def answers(store: Store, demo_model_dir: Path, demo_gguf: Path) -> list[int]:
    base = models.add_base_model(store, demo_model_dir, name="demo")
    models.add_gguf(store, demo_gguf, base.id, quant="F16")
    prompt = store.add_prompt("What is 2 + 2?")
    return [store.add_response(prompt, text, origin="model", model="gen")
            for text in ("4", "Four.", "5")]


def _dialog(qtbot: QtBot, context: AppContext, kind: str) -> JudgeDialog:
    dialog = JudgeDialog(context, [PromptScope("All", lambda _: [1])], kind=kind)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=5000)
    return dialog


def test_thumb_judge_suggests_and_accept_makes_them_count(
        context: AppContext, store: Store, answers: list[int], qtbot: QtBot) -> None:
    store.label_thumb(answers[0], "up", "ana")  # a shared item, for the agreement line
    dialog = _dialog(qtbot, context, "thumb")
    assert "strict reviewer" in dialog.rubric.toPlainText()
    assert "Agreement of judge:demo · F16 with people" in dialog.agreement.text()
    with qtbot.waitSignal(dialog.runner.finished, timeout=120_000):
        dialog.start_button.click()
    qtbot.waitUntil(lambda: "Done: 3 item(s) judged" in dialog.message.text(), timeout=10_000)
    qtbot.waitUntil(lambda: "thumb: agrees on" in dialog.agreement.text(), timeout=5000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SHOTS / "judge-done.png"))
    judged = [lab for lab in store.current_labels(include_unaccepted_judge=True)
              if lab.annotator_kind == "judge"]
    assert len(judged) == 3
    assert not any(lab.accepted for lab in judged)
    assert all(lab.annotator_kind == "human" for lab in store.current_labels())
    dialog.start_button.click()  # the same judge again: nothing new to do
    qtbot.waitUntil(lambda: "Nothing to judge" in dialog.message.text(), timeout=5000)

    page = DataPage(context)
    qtbot.addWidget(page)
    page.resize(1200, 700)
    page.show()
    qtbot.waitUntil(lambda: page.model.row_at(0) is not None, timeout=5000)
    page.table.selectionModel().setCurrentIndex(
        page.model.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
        | QItemSelectionModel.SelectionFlag.Rows)
    qtbot.waitUntil(lambda: "suggestion, not training data" in page.detail.toPlainText(),
                    timeout=5000)
    page.grab().save(str(SHOTS / "data-judge-detail.png"))

    with qtbot.waitSignal(context.changed, timeout=5000):
        dialog.accept_button.click()
    assert "Accepted 3 judge label(s)" in dialog.message.text()
    assert sum(lab.annotator_kind == "judge" for lab in store.current_labels()) == 3
    qtbot.waitUntil(lambda: "(accepted)" in page.detail.toPlainText(), timeout=5000)


def test_pair_judge_on_adjacent_pairs(context: AppContext, store: Store, answers: list[int],
                                      qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, context, "pair")
    assert dialog.pairing_box.isEnabled()
    assert dialog.pairing_box.currentData() == "adjacent"
    with qtbot.waitSignal(dialog.runner.finished, timeout=120_000):
        dialog.start_button.click()
    qtbot.waitUntil(lambda: "Done: 2 item(s) judged" in dialog.message.text(), timeout=10_000)
    pairs = {lab.target for lab in store.current_labels(kind="pair",
                                                        include_unaccepted_judge=True)}
    assert pairs == {f"pair:{answers[0]}:{answers[1]}", f"pair:{answers[1]}:{answers[2]}"}
