"""Issue 21 section 3: a run that completes while another run's after-training eval is still
going is evaluated next, not skipped without a word (real eval jobs on the tiny model)."""

from __future__ import annotations

import json
from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.evaluation.evalsets import create_eval_set
from studio.evaluation.summary import latest_scores
from studio.registry.models import add_adapter, add_base_model, add_gguf
from ui.context import AppContext
from ui.widgets.eval_after import EvalAfterTrainingWidget

__all__ = ["context"]


def test_a_second_run_waits_for_the_first_runs_eval(
        context: AppContext, store: Store, demo_model_dir: Path, demo_gguf: Path,
        tmp_path: Path, qtbot: QtBot) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    questions = tmp_path / "set.jsonl"
    questions.write_text("".join(json.dumps({"question": f"Count to {i}."}) + "\n"
                                 for i in range(3)))
    create_eval_set(store, "count", "regex:.*", from_file=questions)
    base = add_base_model(store, demo_model_dir, name="demo")
    add_gguf(store, demo_gguf, base.id, "F16")
    tuned = {}
    for run_id in ("run-x", "run-y"):
        lora = tmp_path / run_id
        get_peft_model(AutoModelForCausalLM.from_pretrained(demo_model_dir),
                       LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(lora)
        store.db.table("runs").insert({
            "id": run_id, "method": "sft", "status": "completed", "config": "{}",
            "run_dir": str(tmp_path / run_id), "base_model": base.id, "metrics": "{}",
            "created_at": "2026-12-07T03:00:00Z"})
        tuned[run_id] = add_adapter(store, lora, base.id, run_id=run_id, name=run_id).id
    widget = EvalAfterTrainingWidget(context)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.check.isChecked(), timeout=5000)
    said: list[tuple[str, str]] = []
    widget.summary.connect(lambda run_id, text: said.append((run_id, text)))
    messages: list[str] = []
    context.status_message.connect(messages.append)

    assert widget.start_for_run("run-x")
    assert widget.start_for_run("run-y")  # run-x's eval is still going: queued, and said so
    assert any("run-y" in m and "queued" in m for m in messages)
    qtbot.waitUntil(lambda: len(said) == 2, timeout=300_000)
    assert [run_id for run_id, _ in said] == ["run-x", "run-y"]
    assert all(text.startswith("eval 'count'") for _, text in said), said
    scores = latest_scores(store)
    assert {tuned["run-x"], tuned["run-y"]} <= set(scores)
    assert not widget.chain.running
