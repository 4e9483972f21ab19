"""Issue 11 item 9: the Train form remembers the last settings per method across restarts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.paths import DataPaths
from studio.training.config import METHODS, TrainConfig
from studio.training.remembered import FILE_NAME, recall, remember
from ui.context import AppContext
from ui.pages.train_page import TrainPage

__all__ = ["context"]


def test_recall_per_method_and_preset(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    sft = replace(TrainConfig.for_method("sft", "/models/smol"), max_steps=7)
    remember(path, sft)
    remember(path, replace(TrainConfig.for_method("dpo", "/models/smol"), max_steps=9))
    recalled = recall(path, "sft", "balanced")
    assert recalled is not None
    assert (recalled.max_steps, recalled.model) == (7, "/models/smol")
    assert recall(path, "sft", "fast") is None  # another preset: its own defaults
    assert recall(path, "kto", "balanced") is None
    path.write_text("{not json")
    assert recall(path, "sft", "balanced") is None


def test_train_form_starts_from_the_last_settings(context: AppContext, store: Store,
                                                  data_paths: DataPaths, qtbot: QtBot) -> None:
    remember(data_paths.root / FILE_NAME,
             replace(TrainConfig.for_method("sft", "/models/smol"), max_steps=7))
    page = TrainPage(context)
    qtbot.addWidget(page)
    page.method.setCurrentIndex(METHODS.index("sft"))
    assert page.form.values()["max_steps"] == 7
    assert page.model.currentText() == "/models/smol"
    page.shutdown()
