"""The Train page's after-training eval option (real eval jobs on the tiny model), the score
across rounds on the rounds board, and the Models page's score texts."""

from __future__ import annotations

import json
from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.evaluation.evalsets import create_eval_set
from studio.evaluation.jobs import save_result, set_status, start_run
from studio.evaluation.summary import latest_scores
from studio.registry.models import add_adapter, add_base_model, add_gguf
from studio.rounds.rounds import start_round, update_round
from ui.context import AppContext
from ui.item_models.eval_scores import scores_cell, scores_tooltip
from ui.pages.models_rounds import RoundsView
from ui.widgets.eval_after import ALL_SETS, EvalAfterTrainingWidget
from ui.widgets.eval_chart import EvalScoreChart

__all__ = ["context"]


def _set(store: Store, tmp_path: Path) -> int:
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps({"question": f"Count to {i}."}) + "\n"
                            for i in range(4)))
    return create_eval_set(store, "count", "regex:.*", from_file=path).id


def _completed(store: Store, set_id: int, model_id: str, passes: list[int]) -> None:
    run_id = start_run(store, set_id, model_id)
    for prompt_id, passed in enumerate(passes, start=1):
        save_result(store, run_id, prompt_id, "x", float(passed), "")
    set_status(store, run_id, "completed")


def test_after_training_option_is_on_when_a_set_exists(
        context: AppContext, store: Store, tmp_path: Path, qtbot: QtBot) -> None:
    widget = EvalAfterTrainingWidget(context)
    qtbot.addWidget(widget)
    # "every eval set" (the built-in general set at least) is offered, but off by default
    # until the person made a set of their own.
    qtbot.waitUntil(lambda: widget.set_box.count() == 1, timeout=5000)
    assert not widget.check.isChecked()
    assert widget.set_name is None
    _set(store, tmp_path)
    widget.refresh()
    qtbot.waitUntil(lambda: widget.check.isChecked(), timeout=5000)
    assert widget.set_name == ALL_SETS  # every set by default, cheapest first
    widget.check.click()  # the person's choice sticks across refreshes
    widget.refresh()
    qtbot.waitUntil(lambda: widget.set_box.count() == 2, timeout=5000)
    assert not widget.check.isChecked()
    assert not widget.start_for_run("run-x")


def test_after_training_eval_reports_before_and_after(
        context: AppContext, store: Store, demo_model_dir: Path, demo_gguf: Path,
        tmp_path: Path, qtbot: QtBot) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    _set(store, tmp_path)
    base = add_base_model(store, demo_model_dir, name="demo")
    add_gguf(store, demo_gguf, base.id, "F16")
    lora = tmp_path / "lora"
    get_peft_model(AutoModelForCausalLM.from_pretrained(demo_model_dir),
                   LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(lora)
    store.db.table("runs").insert({  # a completed run's row: the adapter names it
        "id": "run-x", "method": "sft", "status": "completed", "config": "{}",
        "run_dir": str(tmp_path / "run-x"), "base_model": base.id, "metrics": "{}",
        "created_at": "2026-12-03T11:00:00Z"})
    tuned = add_adapter(store, lora, base.id, run_id="run-x", name="tuned")
    widget = EvalAfterTrainingWidget(context)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.check.isChecked(), timeout=5000)
    widget.set_box.setCurrentIndex(widget.set_box.findData("count"))  # one set: quick
    with qtbot.waitSignal(widget.summary, timeout=180_000) as said:
        assert widget.start_for_run("run-x")
    run_id, text = said.args
    assert run_id == "run-x"
    assert text.startswith("eval 'count': 100% (")
    assert "before" in text
    assert "no significant difference" in text
    scores = latest_scores(store)
    assert set(scores) == {base.id, tuned.id}
    assert scores_cell(scores[tuned.id]) == "count 100% (transformers)"  # engine said
    assert "transformers" in scores_tooltip(scores[base.id])  # the adapter's engine
    assert "transformers" in scores_tooltip(scores[tuned.id])


def test_chart_shows_the_score_across_rounds(
        context: AppContext, store: Store, demo_model_dir: Path, tmp_path: Path,
        qtbot: QtBot) -> None:
    set_id = _set(store, tmp_path)
    base = add_base_model(store, demo_model_dir, name="demo")
    adapters = []
    for number in (1, 2):
        folder = tmp_path / f"lora{number}"
        folder.mkdir()
        (folder / "adapter_config.json").write_text("{}")
        adapters.append(add_adapter(store, folder, base.id, name=f"r{number}"))
    first = start_round(store, base.id)
    update_round(store, first.id, model_id=adapters[0].id)
    second = start_round(store, adapters[0].id, parent_round_id=first.id)
    update_round(store, second.id, model_id=adapters[1].id)
    _completed(store, set_id, base.id, [0, 0, 0, 1])
    _completed(store, set_id, adapters[1].id, [1, 1, 1, 1])
    view = RoundsView(context)
    qtbot.addWidget(view)
    chart = view.chart
    qtbot.waitUntil(lambda: len(chart.points) == 3, timeout=5000)
    labels = [label for label, _ in chart.points]
    assert labels == ["start", "round 1", "round 2"]
    rates = [s.interval.rate if s else None for _, s in chart.points]
    assert rates == [0.25, None, 1.0]
    assert "1 model(s) not evaluated" in chart.note.text()
    assert isinstance(chart, EvalScoreChart)
