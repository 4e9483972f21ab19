"""Two rounds of the whole loop on the tiny model, with a rule-following stand-in for the human.

Round 1 starts from the base: it writes candidates (llama.cpp), the labeler rejects them and
writes the answer the rule wants (an edit), and SFT trains on that. Round 2 starts from round
1's adapter: the exported round-1 model writes candidates, the labeler keeps those that follow
the rule (best-of-N by hand: thumbs up) and fixes the others, and training continues from the
round-1 adapter. The rule-following rate must rise across rounds and the lineage be recorded.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backends.lib.train_synthetic import format_ok, good_answer, prompts, synthetic_run_config
from studio.candidates.generation import GenerationConfig, create_job
from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.paths import DataPaths
from studio.registry import models
from studio.registry.export_config import create_export_job
from studio.rounds import rounds
from studio.training.runs import Run, create_run, get_run, launch_command, sync_run

REPO = Path(__file__).resolve().parent.parent
LABELER = "rule"
TRAIN_PROMPTS, HELD_OUT = 36, 24


def run_backend(*args: str, timeout: int = 600) -> None:
    result = subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True,
                            stdin=subprocess.DEVNULL,
                            text=True, timeout=timeout, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def generate(paths: DataPaths, gguf: Path, name: str, prompt_ids: list[int]) -> None:
    config = GenerationConfig(model_path=str(gguf), model_name=name, prompt_ids=prompt_ids,
                              n=4, temperature_min=0.8, temperature_max=1.2, max_tokens=12,
                              n_ctx=256, threads=2)
    job = create_job(paths.root / "jobs", config, paths.db)
    run_backend("backends.generate", "--job-dir", str(job))


def label_by_rule(store: Store, model: str, colours: dict[int, str]) -> None:
    """The stand-in human: thumbs by the rule, and an edit for every prompt it saw fail."""
    for prompt_id, colour in colours.items():
        candidates = [r for r in store.responses_for(prompt_id) if r.model == model]
        for response in candidates:
            store.label_thumb(response.id, "up" if format_ok(response.text) else "down", LABELER)
        failed = [r for r in candidates if not format_ok(r.text)]
        if failed:
            store.label_gold(prompt_id, good_answer(colour), LABELER, parent_id=failed[0].id)


def train(store: Store, paths: DataPaths, base: Path, round_id: int, steps: int,
          init_adapter: str | None = None) -> Run:
    snapshot = export_snapshot(store, "sft", paths.snapshots / f"round-{round_id}", 0.0)
    config = synthetic_run_config("sft", str(base), max_steps=steps, learning_rate=3e-3,
                                  lora_r=16, lora_alpha=32, eval_steps=steps,
                                  warmup_ratio=0.0, init_adapter=init_adapter)
    run = create_run(store, paths, config, snapshot.path)
    result = subprocess.run(launch_command(run.run_dir), cwd=REPO,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, run.dir.log.read_text()[-3000:]
    run = sync_run(store, run.id)
    assert run.status == "completed"
    return run


def rule_rate(base: Path, adapter: Path | None, questions: list[str]) -> float:
    """Share of sampled replies (8 per held-out prompt, fixed seed) that follow the rule."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base)
    if adapter is not None:
        model = PeftModel.from_pretrained(model, adapter)
    torch.manual_seed(0)
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    passed = total = 0
    for question in questions:
        text = tokenizer.apply_chat_template([{"role": "user", "content": question}],
                                             add_generation_prompt=True, tokenize=False)
        inputs = tokenizer(text, add_special_tokens=False, return_tensors="pt")
        out = model.generate(**inputs, max_new_tokens=12, do_sample=True, temperature=0.7,
                             num_return_sequences=8, eos_token_id=end,
                             pad_token_id=tokenizer.pad_token_id)
        for row in out:
            reply = tokenizer.decode(row[inputs["input_ids"].shape[1]:], skip_special_tokens=True)
            passed += format_ok(reply)
            total += 1
    return passed / total


@pytest.mark.timeout(900)
def test_two_rounds_raise_the_rule_following_rate(
    store: Store, data_paths: DataPaths, demo_model_dir: Path, demo_gguf: Path
) -> None:
    items = prompts(TRAIN_PROMPTS + HELD_OUT)
    ids = {store.add_prompt(q, source="rule-task"): colour for q, colour in items}
    train_ids = dict(list(ids.items())[:TRAIN_PROMPTS])
    held_out = [q for q, _ in items[TRAIN_PROMPTS:]]
    base = models.add_base_model(store, demo_model_dir, name="demo")
    models.add_gguf(store, demo_gguf, base.id, "F16")

    # Round 1: base → candidates → rule labels (all fail: edits) → SFT.
    first = rounds.start_round(store, base.id, "sft")
    generate(data_paths, demo_gguf, "demo", list(train_ids))
    label_by_rule(store, "demo", train_ids)
    run1 = train(store, data_paths, demo_model_dir, first.id, steps=25)
    adapter1 = next(m for m in models.list_models(store, "adapter") if m.run_id == run1.id)
    rounds.update_round(store, first.id, run_id=run1.id, model_id=adapter1.id,
                        snapshot_id=run1.snapshot_id)

    # Round 2: round 1's model (exported to GGUF) writes candidates; best-of-N by the rule.
    second = rounds.next_round(store, first.id)
    assert second.parent_model_id == adapter1.id
    export_dir = create_export_job(data_paths.exports, adapter=run1.dir.adapter, quants=["F16"],
                                   db=data_paths.db, parent_id=adapter1.id)
    run_backend("backends.export", "--job-dir", str(export_dir))
    round1_gguf = next(export_dir.glob("model-F16.gguf"))
    # A trained adapter exports to a GGUF that tokenizes and decodes like transformers.
    gguf_entry = next(m for m in models.list_models(store, "gguf") if m.path == str(round1_gguf))
    assert gguf_entry.selfcheck is not None
    assert gguf_entry.selfcheck["passed"], gguf_entry.selfcheck
    generate(data_paths, round1_gguf, "round-1", list(train_ids))
    label_by_rule(store, "round-1", train_ids)
    kept = [lab for lab in store.current_labels(kind="thumb") if lab.value == "up"]
    run2 = train(store, data_paths, demo_model_dir, second.id, steps=100,
                 init_adapter=str(run1.dir.adapter))
    adapter2 = next(m for m in models.list_models(store, "adapter") if m.run_id == run2.id)
    rounds.update_round(store, second.id, run_id=run2.id, model_id=adapter2.id,
                        snapshot_id=run2.snapshot_id)

    rates = [rule_rate(demo_model_dir, None, held_out),
             rule_rate(demo_model_dir, run1.dir.adapter, held_out),
             rule_rate(demo_model_dir, run2.dir.adapter, held_out)]
    for round_, rate in zip((first, second), rates[1:], strict=True):
        rounds.record_metrics(store, round_.id, rule_pass_rate=rate)
    assert rates[0] < rates[1] < rates[2], f"rule-following rate by round: {rates}"
    assert kept, "round 1's model wrote no rule-following candidate to keep"
    assert get_run(store, run2.id).config["init_adapter"] == str(run1.dir.adapter)
    assert [r.model_id for r in rounds.chain(store, second.id)] == [adapter1.id, adapter2.id]
