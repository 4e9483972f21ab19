"""The eval parts of the Models and Train pages: each model's latest score per eval set in
the tree, Evaluate… opening the dialog on the selected model, the Train page's after-training
option (on by default with an eval set) evaluating a run seen completing, and the before/after
in that run's summary (real eval jobs on the tiny demo model)."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.evaluation.evalsets import create_eval_set
from studio.evaluation.jobs import save_result, set_status, start_run
from studio.registry.models import add_adapter, add_base_model, add_gguf
from studio.training.runs import get_run
from ui.context import AppContext
from ui.dialogs.eval_dialog import EvalDialog
from ui.item_models.model_tree import EVAL_COLUMN
from ui.pages.models_page import ModelsPage
from ui.pages.train_page import PageState, TrainPage

__all__ = ["context"]


def _set(store: Store, tmp_path: Path) -> int:
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps({"question": f"Count to {i}."}) + "\n"
                            for i in range(2)))
    return create_eval_set(store, "count", "regex:.*", from_file=path).id


def test_models_page_shows_scores_and_opens_the_eval_dialog(
        context: AppContext, store: Store, demo_model_dir: Path, tmp_path: Path,
        qtbot: QtBot) -> None:
    set_id = _set(store, tmp_path)
    base = add_base_model(store, demo_model_dir, name="demo")
    run_id = start_run(store, set_id, base.id)
    save_result(store, run_id, 1, "1", 1.0, "")
    save_result(store, run_id, 2, "2", 0.0, "")
    set_status(store, run_id, "completed")
    page = ModelsPage(context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: len(page.tree.roots()) == 1, timeout=10_000)
    item = page.tree.roots()[0]
    assert item.text(EVAL_COLUMN) == "count 50%"
    assert "n=2" in item.tooltip(EVAL_COLUMN)
    assert not page.eval_button.isEnabled()
    page.tree.select_id(item.id)
    assert page.eval_button.isEnabled()
    page.eval_button.click()
    dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, EvalDialog))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.model_box.count() == 1, timeout=5000)
    assert dialog.model_box.currentData() == base.id
    qtbot.waitUntil(lambda: dialog.report.scores.topLevelItemCount() == 1, timeout=5000)
    assert dialog.report.scores.topLevelItem(0).text(2) == "50%"
    dialog.reject()


def test_train_page_evaluates_a_run_it_saw_complete(
        context: AppContext, store: Store, demo_model_dir: Path, demo_gguf: Path,
        tmp_path: Path, qtbot: QtBot) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    _set(store, tmp_path)
    base = add_base_model(store, demo_model_dir, name="demo")
    add_gguf(store, demo_gguf, base.id, "F16")
    store.db.table("runs").insert({
        "id": "run-x", "method": "sft", "status": "completed", "config": "{}",
        "run_dir": str(tmp_path / "run-x"), "base_model": base.id, "metrics": "{}",
        "created_at": "2026-12-03T11:00:00Z"})
    lora = tmp_path / "lora"
    get_peft_model(AutoModelForCausalLM.from_pretrained(demo_model_dir),
                   LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(lora)
    add_adapter(store, lora, base.id, run_id="run-x", name="tuned")
    page = TrainPage(context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.after_eval.check.isChecked(), timeout=10_000)
    qtbot.waitUntil(lambda: "run-x" in page.runs_by_id, timeout=10_000)
    done = get_run(store, "run-x")
    running = type(done)(**{**vars(done), "status": "running"})
    # What the page's poll sees while the run trains, then once it completed.
    page._show_state(PageState([running]), "run-x")
    with qtbot.waitSignal(page.after_eval.summary, timeout=180_000) as said:
        page._show_state(PageState([done]), "run-x")
    assert said.args[1].startswith("eval 'count': 100% (")
    qtbot.waitUntil(lambda: "eval 'count'" in page.runs.eval_summary.text(), timeout=10_000)
    assert "before" in page.runs.eval_summary.text()
    assert page.history.model().index(0, 0).data(Qt.ItemDataRole.UserRole) == "run-x"
    page.shutdown()
