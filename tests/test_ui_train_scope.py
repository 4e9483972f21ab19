"""Issue 21: the Train page's "Train on" shows the count a run will train on and why, with
``mine`` the default once the person made enough labels; "Train for about (min)" is a field
of the form (the config's own help as its tooltip)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFormLayout, QLabel
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.app.train_scope import ENOUGH_MINE
from studio.data.importing import import_path
from studio.db.store import Store
from ui.context import AppContext
from ui.pages.train_page import TrainPage

__all__ = ["context"]


@pytest.fixture
def page(context: AppContext, store: Store, qtbot: QtBot, tmp_path: Path) -> TrainPage:
    path = tmp_path / "public.jsonl"
    path.write_text("".join(json.dumps({"instruction": f"Say {n}", "output": f"{n}."}) + "\n"
                            for n in range(40)), encoding="utf-8")
    import_path(store, path)
    for n in range(ENOUGH_MINE):
        prompt = store.add_prompt(f"What is {n} plus 1?", source="typed")
        store.label_thumb(store.add_response(prompt, f"Answer: {n + 1}.", origin="model"),
                          "up", "me")
    widget = TrainPage(context)
    qtbot.addWidget(widget)
    widget.resize(1300, 850)
    widget.show()
    widget.model.setCurrentText("some-model")
    yield widget
    widget.shutdown()


def test_the_page_shows_what_the_run_trains_on_and_why(page: TrainPage, qtbot: QtBot) -> None:
    scope = page.setup.scope
    qtbot.waitUntil(lambda: "default: mine" in scope.why.text(), timeout=10000)
    assert f"{ENOUGH_MINE} examples" in scope.why.text()
    assert "40 from imports left out" in scope.why.text()
    assert page.setup.config().train_from == ""  # the default, resolved at launch
    scope.combo.setCurrentText("all")
    qtbot.waitUntil(lambda: scope.why.text().startswith(f"{ENOUGH_MINE + 40} examples"),
                    timeout=10000)
    assert page.setup.config().train_from == "all"
    assert scope.combo.findText("import:public.jsonl") >= 0


def test_the_budget_is_a_field_with_its_own_words(page: TrainPage) -> None:
    editor = page.form.editors["time_budget_minutes"]
    form = page.form.forms["time_budget_minutes"]
    row, _role = form.getWidgetPosition(editor)
    label = form.itemAt(row, QFormLayout.ItemRole.LabelRole).widget()
    assert isinstance(label, QLabel)
    assert label.text() == "Train for about"
    assert editor.placeholderText() == "minutes (empty: 60 on a CPU)"  # type: ignore[attr-defined]
    assert "times one real step" in editor.toolTip()
    page.form.editors["time_budget_minutes"].setText("20")  # type: ignore[attr-defined]
    assert page.setup.config().time_budget_minutes == 20.0
