"""The regression matrix on the Models page: a thin table model over
``studio.app.eval_matrix``, sortable, lineage order by default, cells that got significantly
worse than the parent marked, the flipped prompts one double-click away, and the warning
before an export of a model flagged worse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.evaluation.evalsets import create_eval_set
from studio.evaluation.jobs import save_result, set_status, start_run
from studio.registry.models import ModelEntry, add_adapter, add_base_model
from ui.context import AppContext
from ui.item_models.eval_matrix import MARK_COLOURS, SORT_ROLE
from ui.widgets.eval_matrix_view import EvalMatrixWidget, FlipsDialog

__all__ = ["context"]


def _completed(store: Store, set_id: int, model_id: str, passes: list[int]) -> None:
    run_id = start_run(store, set_id, model_id)
    for prompt_id, passed in enumerate(passes, start=1):
        save_result(store, run_id, prompt_id, "ok" if passed else "no", float(passed), "",
                    "regex:ok")
    store.db.execute("UPDATE eval_runs SET engine = 'transformers' WHERE id = ?", [run_id])
    set_status(store, run_id, "completed")


def _worse_child(store: Store, demo_model_dir: Path, tmp_path: Path) -> ModelEntry:
    path = tmp_path / "facts.jsonl"
    path.write_text("".join(json.dumps({"question": f"fact {i}?"}) + "\n" for i in range(12)))
    set_id = create_eval_set(store, "facts", "regex:ok", from_file=path).id
    base = add_base_model(store, demo_model_dir, name="demo")
    folder = tmp_path / "lora"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    tuned = add_adapter(store, folder, base.id, name="tuned")
    _completed(store, set_id, base.id, [1] * 12)
    _completed(store, set_id, tuned.id, [1] + [0] * 11)
    return tuned


def test_matrix_marks_the_worse_cell_sorts_and_opens_the_flips(
        context: AppContext, store: Store, demo_model_dir: Path, tmp_path: Path,
        qtbot: QtBot) -> None:
    _worse_child(store, demo_model_dir, tmp_path)
    widget = EvalMatrixWidget(context)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.model.rowCount() == 2, timeout=5000)
    model, proxy = widget.model, widget.proxy
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers == ["Model", "facts", "general", "Drift"]
    assert proxy.index(0, 0).data() == "demo"  # lineage order: the parent first
    assert proxy.index(1, 0).data().strip() == "tuned"
    cell = proxy.index(1, 1)
    assert cell.data().endswith("▼")
    assert cell.data(Qt.ItemDataRole.ForegroundRole).color() == MARK_COLOURS["worse"]
    assert "significantly worse" in cell.data(Qt.ItemDataRole.ToolTipRole)
    assert "engine transformers" in cell.data(Qt.ItemDataRole.ToolTipRole)
    assert proxy.index(1, 2).data() == "—"  # the general set: not evaluated yet
    widget.table.sortByColumn(1, Qt.SortOrder.AscendingOrder)  # by pass rate on facts
    assert proxy.index(0, 0).data().strip() == "tuned"
    assert proxy.index(0, 1).data(SORT_ROLE) < proxy.index(1, 1).data(SORT_ROLE)
    assert "1 cell(s) got worse" in widget.note.text()
    widget.open_cell(proxy.index(0, 1))
    dialog = widget.findChild(FlipsDialog)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.report.flips.topLevelItemCount() == 11, timeout=5000)
    dialog.close()


def test_export_of_a_model_flagged_worse_asks_first(
        context: AppContext, store: Store, demo_model_dir: Path, tmp_path: Path,
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.dialogs.gguf_export_dialog import GGUFExportDialog
    from ui.pages.models_page import ModelsPage

    tuned = _worse_child(store, demo_model_dir, tmp_path)
    asked: list[str] = []

    def refuse(*args: object) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "warning", refuse)
    monkeypatch.setattr(GGUFExportDialog, "exec", lambda self: pytest.fail("not asked"))
    page = ModelsPage(context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: len(page.tree.roots()) == 1, timeout=10_000)
    page.tree.select_id(tuned.id)
    page.export()
    qtbot.waitUntil(lambda: bool(asked), timeout=5000)
    assert "significantly worse" in asked[0]
    assert "facts" in asked[0]
    assert not page.export_runner.running
    assert page.lower.tabText(1) == "Regression matrix"


def test_launch_from_a_model_flagged_worse_asks_first(
        context: AppContext, store: Store, demo_model_dir: Path, tmp_path: Path,
        qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    from backends.lib.train_synthetic import populate
    from studio.training import runs as registry
    from ui.pages.train_page import TrainPage

    tuned = _worse_child(store, demo_model_dir, tmp_path)
    populate(store, 24)
    asked: list[str] = []

    def refuse(*args: object) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "warning", refuse)
    page = TrainPage(context)
    qtbot.addWidget(page)
    page.model.setCurrentText(tuned.path)  # train on from the model that got worse
    page.launch_button.click()
    qtbot.waitUntil(lambda: bool(asked), timeout=10_000)
    assert "significantly worse" in asked[0]
    qtbot.waitUntil(page.launch_button.isEnabled, timeout=5000)
    assert registry.list_runs(store) == []
    page.shutdown()
