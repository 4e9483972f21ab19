"""The eval dialog and report view with the real eval backend on the tiny demo model: a
before/after runs as jobs with "evaluating N/M" progress, the report shows both scores, the
verdict in words and the flipped prompts; Cancel keeps what was done."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.evaluation.evalsets import create_eval_set
from studio.evaluation.jobs import (
    done_prompt_ids,
    get_eval_run,
    save_result,
    set_status,
    start_run,
)
from studio.evaluation.report import Comparison, Flip, wilson
from studio.evaluation.summary import EvalReport, Score
from studio.registry.models import ModelEntry, add_adapter, add_base_model, add_gguf
from ui.context import AppContext
from ui.dialogs.eval_dialog import EvalDialog
from ui.widgets.eval_report import EvalReportWidget

__all__ = ["context"]


def _set(store: Store, tmp_path: Path, grader: str = "regex:.*") -> None:
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps({"question": f"Count to {i}."}) + "\n"
                            for i in range(4)))
    create_eval_set(store, "count", grader, from_file=path)


def _models(store: Store, demo_model_dir: Path, demo_gguf: Path,
            tmp_path: Path) -> tuple[ModelEntry, ModelEntry]:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = add_base_model(store, demo_model_dir, name="demo")
    add_gguf(store, demo_gguf, base.id, "F16")
    model = AutoModelForCausalLM.from_pretrained(demo_model_dir)
    lora = tmp_path / "lora"
    get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(lora)
    return base, add_adapter(store, lora, base.id, name="tuned")


def _dialog(qtbot: QtBot, context: AppContext, model_id: str) -> EvalDialog:
    dialog = EvalDialog(context, model_id=model_id, set_name="count")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(dialog.start_button.isEnabled, timeout=5000)
    return dialog


def test_before_after_runs_with_progress_and_shows_the_report(
        context: AppContext, store: Store, demo_model_dir: Path, demo_gguf: Path,
        tmp_path: Path, qtbot: QtBot) -> None:
    _set(store, tmp_path)
    _, tuned = _models(store, demo_model_dir, demo_gguf, tmp_path)
    dialog = _dialog(qtbot, context, tuned.id)
    steps: list[str] = []
    dialog.chain.step.connect(lambda *_: steps.append(dialog.strip.status.text()))
    with qtbot.waitSignal(dialog.chain.done, timeout=180_000):
        dialog.start_button.click()
    assert any(s.startswith("evaluating demo ") for s in steps)
    assert "evaluating tuned 4/4" in steps[-1]
    qtbot.waitUntil(lambda: dialog.report.scores.topLevelItemCount() == 2 and
                    dialog.report.scores.topLevelItem(1).text(2) != "not evaluated",
                    timeout=10_000)
    before, after = (dialog.report.scores.topLevelItem(i) for i in range(2))
    assert (before.text(0), before.text(1), before.text(2)) == ("before", "demo", "100%")
    assert (after.text(0), after.text(1), after.text(4)) == ("after", "tuned", "4")
    # The adapter has no GGUF, so both answer through transformers (the base has a GGUF, but
    # a before/after must not mix engines).
    assert (before.text(5), after.text(5)) == ("transformers", "transformers")
    assert "No prompt changed result" in dialog.report.verdict.text()
    assert dialog.message.text() == "Done."


def test_cancel_keeps_the_prompts_done(
        context: AppContext, store: Store, demo_model_dir: Path, demo_gguf: Path,
        tmp_path: Path, qtbot: QtBot) -> None:
    slow = tmp_path / "slow.py"
    slow.write_text("import time\n\ndef grade(prompt, response, reference):\n"
                    "    time.sleep(1.5)\n    return 1.0\n")
    _set(store, tmp_path, f"python:{slow}")
    base = add_base_model(store, demo_model_dir, name="demo")
    add_gguf(store, demo_gguf, base.id, "F16")
    dialog = _dialog(qtbot, context, base.id)
    with qtbot.waitSignal(dialog.chain.step, timeout=120_000):
        dialog.start_button.click()
    with qtbot.waitSignal(dialog.chain.stopped, timeout=60_000) as stopped:
        dialog.strip.cancel_button.click()
    assert stopped.args[0].startswith("Cancelled")
    run = get_eval_run(store, 1)
    # Cancelled, whether the job stopped by itself or was killed after the grace period.
    assert run.status == "cancelled"
    assert run.engine == "llama.cpp"
    assert 1 <= len(done_prompt_ids(store, 1)) < 4
    assert "Cancelled" in dialog.message.text()


@pytest.fixture
def report() -> EvalReport:
    flips = [Flip("1", "What is 2+2?", "5", "4", better=True),
             Flip("2", "Spell cat", "cat", "kat", better=False)]
    found = Comparison(wilson(3, 10), wilson(9, 10), flips + [
        Flip(str(k), "p", "a", "b", better=True) for k in range(3, 8)], p_value=0.016)
    return EvalReport("math", "adapter-1", "tuned", Score("math", "adapter-1", 2, "llama.cpp",
                                                          wilson(9, 10)),
                      "base-1", "base", Score("math", "base-1", 1, "transformers",
                                              wilson(3, 10)), found)


def test_report_view_shows_scores_verdict_and_flips(
        context: AppContext, report: EvalReport, qtbot: QtBot) -> None:
    view = EvalReportWidget(context)
    qtbot.addWidget(view)
    view.show_report(report)
    rows = [view.scores.topLevelItem(i) for i in range(2)]
    assert [r.text(2) for r in rows] == ["30%", "90%"]
    assert rows[1].text(3) == f"{wilson(9, 10).low:.0%}-{wilson(9, 10).high:.0%}"
    assert "tuned is better than base" in view.verdict.text()
    assert "unlikely to be chance" in view.verdict.text()
    assert view.flips.topLevelItemCount() == 7
    first = view.flips.topLevelItem(0)
    assert (first.text(0), first.text(2), first.text(3)) == ("better", "5", "4")
    assert view.flips.topLevelItem(1).text(0) == "worse"


def test_report_of_a_model_read_from_the_store(
        context: AppContext, store: Store, demo_model_dir: Path, tmp_path: Path,
        qtbot: QtBot) -> None:
    _set(store, tmp_path)
    base = add_base_model(store, demo_model_dir, name="demo")
    run_id = start_run(store, 1, base.id)
    for prompt_id in range(1, 5):
        save_result(store, run_id, prompt_id, "x", float(prompt_id % 2), "")
    set_status(store, run_id, "completed")
    view = EvalReportWidget(context)
    qtbot.addWidget(view)
    view.load("count", base.id)
    qtbot.waitUntil(lambda: view.scores.topLevelItemCount() == 1, timeout=5000)
    assert view.scores.topLevelItem(0).text(2) == "50%"
    assert "no before" in view.verdict.text()
