"""Issue 11 item 9: rename a model from the Models page (button, context menu, F2), with
validation, and Undo; every page showing model names hears of it (Changes(models=True))."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.registry import models
from ui.context import AppContext
from ui.pages.models_page import ModelsPage

__all__ = ["context"]


@pytest.fixture
def page(context: AppContext, store: Store, qtbot: QtBot, demo_model_dir: Path) -> ModelsPage:
    base = models.add_base_model(store, demo_model_dir, name="demo base")
    widget = ModelsPage(context)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: len(widget.tree.roots()) == 1, timeout=10_000)
    widget.tree.select_id(widget.tree.roots()[0].id)
    assert widget.selected_id() == base.id
    return widget


def _answer(monkeypatch: pytest.MonkeyPatch, text: str, asked: list[str]) -> None:
    def get_text(_parent: object, _title: str, _label: str, _mode: object,
                 current: str) -> tuple[str, bool]:
        asked.append(current)
        return text, True

    monkeypatch.setattr(QInputDialog, "getText", get_text)


def test_f2_renames_and_ctrl_z_undoes(page: ModelsPage, store: Store, qtbot: QtBot,
                                      context: AppContext,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    _answer(monkeypatch, "  SmolLM2 · my favourite  ", asked)
    page.tree.setFocus()
    with qtbot.waitSignal(context.changed, timeout=5000) as changed:
        qtbot.keyClick(page.tree, Qt.Key.Key_F2)
    assert changed.args[0].models
    assert asked == ["demo base"]  # the dialog starts from the current name
    (entry,) = models.list_models(store)
    assert entry.name == "SmolLM2 · my favourite"
    qtbot.waitUntil(lambda: page.tree.roots()[0].text(0) == entry.name, timeout=5000)
    with qtbot.waitSignal(context.changed, timeout=5000):
        qtbot.keyClick(page.tree, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert models.list_models(store)[0].name == "demo base"
    # The page's refresh after the undo has run: no store work is left for the teardown.
    qtbot.waitUntil(lambda: page.tree.roots()[0].text(0) == "demo base", timeout=5000)


@pytest.mark.parametrize(("typed", "why"), [("   ", "cannot be empty"),
                                            ("x" * 200, "at most 120 characters")])
def test_bad_names_are_refused_with_a_reason(page: ModelsPage, store: Store, typed: str,
                                             why: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _answer(monkeypatch, typed, [])
    page.rename_button.click()
    assert why in page.progress.text()
    assert models.list_models(store)[0].name == "demo base"


def test_context_menu_offers_rename(page: ModelsPage) -> None:
    assert "Rename…" in [action.text() for action in page.tree.actions()]
    assert page.rename_button.isEnabled()
