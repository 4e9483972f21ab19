"""Efficacy, not timing: on the synthetic format task, training through the studio's own
store → snapshot → run pipeline must change the tiny model in the direction of the labels."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from backends.lib.train_synthetic import format_ok, populate, synthetic_run
from studio.db.store import Store
from studio.events import read_events
from studio.paths import DataPaths
from studio.training.runs import Run, launch_command

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def labeled(store: Store) -> Store:
    populate(store, 48)
    return store


def train(run: Run, paths: DataPaths) -> None:
    result = subprocess.run(launch_command(run.run_dir), cwd=REPO,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, run.dir.log.read_text()[-3000:]


def pass_rate(model: object, tokenizer: object, rows: list[dict]) -> float:
    """Share of greedy replies to held-out prompts that pass the format check."""
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    passed = 0
    for row in rows:
        text = tokenizer.apply_chat_template(row["messages"][:-1], add_generation_prompt=True,
                                             tokenize=False)
        inputs = tokenizer(text, add_special_tokens=False, return_tensors="pt")
        output = model.generate(**inputs, max_new_tokens=12, do_sample=False, eos_token_id=end,
                                pad_token_id=tokenizer.pad_token_id)
        reply = tokenizer.decode(output[0, inputs["input_ids"].shape[1]:],
                                 skip_special_tokens=True)
        passed += format_ok(reply)
    return passed / len(rows)


def test_sft_raises_the_format_pass_rate(labeled: Store, data_paths: DataPaths,
                                         demo_model_dir: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    run = synthetic_run(labeled, data_paths, "sft", str(demo_model_dir), eval_fraction=0.25,
                        max_steps=60, learning_rate=3e-3, lora_r=16, lora_alpha=32,
                        eval_steps=30, warmup_ratio=0.0)
    train(run, data_paths)
    rows = [json.loads(line) for line in (run.dir.snapshot / "eval.jsonl").read_text()
            .splitlines()]
    assert len(rows) >= 8
    tokenizer = AutoTokenizer.from_pretrained(demo_model_dir)
    base = AutoModelForCausalLM.from_pretrained(demo_model_dir)
    before = pass_rate(base, tokenizer, rows)
    after = pass_rate(PeftModel.from_pretrained(base, run.dir.adapter), tokenizer, rows)
    assert before <= 0.1
    assert after >= 0.8, f"pass rate {before:.2f} -> {after:.2f}"


@pytest.mark.parametrize("method", ["dpo", "kto"])
def test_preference_training_learns_the_labels(method: str, labeled: Store,
                                               data_paths: DataPaths,
                                               demo_model_dir: Path) -> None:
    run = synthetic_run(labeled, data_paths, method, str(demo_model_dir), eval_fraction=0.25,
                        max_steps=20, eval_steps=10)
    train(run, data_paths)
    evals = [e for e in read_events(run.dir.events) if e.event == "eval"]
    accuracy = evals[-1]["eval_rewards/accuracies"]
    assert accuracy >= 0.8, f"held-out reward accuracy {accuracy}"
    assert evals[-1]["eval_rewards/margins"] > 0
