"""GRPO on long prompts in LLaMA-Factory's DPO format (its ``dpo_en_demo.json``: ShareGPT
conversations with a system prompt, earlier turns, and a chosen/rejected answer) with
``--prompts all``, on the tiny demo model (issue 26).

Pre-flight used to count every prompt token in the LM head's logits and refused such a run on
the 2M-parameter demo model with "training needs about 22.15 GB". TRL 1.16 labels only the
answer, and its fused head works in tiles of at most 4096 tokens: the prompt costs the layers'
activations, not logits. A generated file stands in for LLaMA-Factory's (same shape, prompts of
a few thousand tokens), and a real GRPO run on it goes through the CLI.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from studio.cli.train import add_train_commands, run_train_command
from studio.data.importing.importer import import_path
from studio.db.store import Store
from studio.events import read_events
from studio.paths import DataPaths
from studio.training.config import TrainConfig
from studio.training.grpo import export_prompt_snapshot
from studio.training.memory import GB, HEAD_TILES, HEAD_TOKENS, Shape
from studio.training.preflight import preflight, run_estimate
from studio.training.runs import list_runs

WORDS = ("the river bends past the old mill where the stones are grey and the water runs cold"
         " and clear over the weir in every season of the year").split()


def lf_dpo_file(path: Path, count: int = 6, words: int = 1500) -> Path:
    """``count`` rows shaped like LLaMA-Factory's dpo_en_demo.json; row i's prompt holds about
    ``words * (i + 1) / count`` words over a system prompt and two earlier turns."""
    rows = []
    for i in range(count):
        size = words * (i + 1) // count
        text = " ".join(WORDS[j % len(WORDS)] for j in range(size))
        rows.append({"conversations": [
            {"from": "system", "value": "You are a teacher. Explain the task in simple steps."},
            {"from": "human", "value": f"Read this passage, part {i}: {text}"},
            {"from": "gpt", "value": "I have read it."},
            {"from": "human", "value": "Which word comes up most often?"}],
            "chosen": {"from": "gpt", "value": "The word 'the'."},
            "rejected": {"from": "gpt", "value": "River."}})
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return path


def cli(store: Store, paths: DataPaths, *argv: str) -> int | None:
    parser = argparse.ArgumentParser()
    add_train_commands(parser.add_subparsers(dest="command"))
    return run_train_command(parser.parse_args(list(argv)), store, paths)


def test_the_estimate_keeps_the_prompt_out_of_the_head(store: Store, data_paths: DataPaths,
                                                       demo_model_dir: Path,
                                                       tmp_path: Path) -> None:
    import_path(store, lf_dpo_file(tmp_path / "dpo_en_demo.json"))
    snapshot = export_prompt_snapshot(store, "all", data_paths.root / "snap").path
    config = TrainConfig.for_method("grpo", str(demo_model_dir), graders=["contains:the"],
                                    prompts="all", snapshot_dir=str(snapshot))
    estimate = run_estimate(config, snapshot, "cpu")
    shape = Shape.from_config(json.loads((demo_model_dir / "config.json").read_text()))
    longest = max(len(json.loads(line)["prompt"][1]["content"]) for line in
                  (snapshot / "train.jsonl").read_text().splitlines())
    assert longest > 7000  # characters: a few thousand demo tokens
    # The defaults (4 prompts x 8 answers x 64 tokens): the layers keep every prompt token of
    # 32 sequences; the head adds at most one tile, whatever the prompt's length.
    head = HEAD_TILES[("cpu", "grpo")] * HEAD_TOKENS * shape.vocab * 4
    layers = estimate.activations - head
    assert layers > 32 * 2000 * shape.layer_values * 4 * shape.layers
    assert estimate.total < 8 * GB
    checks = preflight(config, snapshot, free_bytes=("cpu", 8 * GB))
    assert [c for c in checks if c.level == "error"] == []
    refused = [c.message for c in preflight(config, snapshot, free_bytes=("cpu", 2 * GB))
               if c.topic == "memory"]
    assert len(refused) == 1
    # It names the settings and the values that fit, and what the run then needs.
    fix = re.search(r"To fit, lower batch_size from 4 to 1( and num_generations from 8 to"
                    r" \d)? \(about (\d+\.\d\d) GB\)", refused[0])
    assert fix is not None, refused[0]
    assert float(fix.group(2)) <= 2.0


def test_grpo_trains_on_long_prompts_with_prompts_all(store: Store, data_paths: DataPaths,
                                                      demo_model_dir: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    import_path(store, lf_dpo_file(tmp_path / "dpo_en_demo.json", count=4, words=900))
    code = cli(store, data_paths, "train", "--method", "grpo", "--grader", "contains:the",
               "--prompts", "all", "--model", str(demo_model_dir), "--preset", "quick",
               "--set", "max_steps=1", "--set", "batch_size=1", "--set", "num_generations=2",
               "--set", "max_completion_length=8")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "training needs about" in out
    (run,) = list_runs(store)
    assert (run.method, run.status) == ("grpo", "completed"), out
    events = read_events(run.dir.events)
    assert [e["step"] for e in events if e.event == "step"] == [1]
    assert events[-1].event == "finished"
