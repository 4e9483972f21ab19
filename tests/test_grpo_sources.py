"""Where GRPO's prompts and rewards come from: an eval set's training counterpart as the
prompts, and a judge model (real llama.cpp on the tiny demo GGUF) as a reward, in GRPO and in
best-of-N."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.lib.train_synthetic import populate
from studio.app.training import create_checked_run
from studio.candidates.best_of_n import best_of_n
from studio.db.store import Store
from studio.errors import EmptyDatasetError
from studio.evaluation.evalsets import create_eval_set
from studio.events import read_events
from studio.paths import DataPaths
from studio.registry.models import add_base_model, add_gguf
from studio.training.grpo import PromptSelectorError, export_prompt_snapshot, prompt_choices
from studio.training.runs import list_runs
from tests.test_grpo import cli, grpo_config


def _texts(folder: Path) -> list[str]:
    return [json.loads(line)["prompt"][-1]["content"]
            for line in (folder / "train.jsonl").read_text().splitlines()]


def test_an_eval_sets_counterpart_is_its_kind_of_prompt_without_its_own(
        store: Store, data_paths: DataPaths, tmp_path: Path) -> None:
    sums = [store.add_prompt(f"What is {i} plus 2?", tags=["sums"], source="bench")
            for i in range(6)]
    store.add_prompt("Name a colour.", tags=["colours"], source="bench")
    create_eval_set(store, "sums-held-out", "numeric", prompt_ids=sums[:2])
    snapshot = export_prompt_snapshot(store, "evalset:sums-held-out",
                                      data_paths.snapshots / "c")
    # The shared tag decides, not the broad shared source.
    assert _texts(snapshot.path) == [f"What is {i} plus 2?" for i in range(2, 6)]
    assert "evalset:sums-held-out" in prompt_choices(store)
    # Prompts without tags of their own: the source decides.
    untagged = [store.add_prompt(f"Say {word}.", source="typed") for word in ("hi", "yo", "ok")]
    store.add_prompt("Spell cat.", source="other")
    create_eval_set(store, "typed-held-out", "contains:hi", prompt_ids=untagged[:1])
    typed = export_prompt_snapshot(store, "evalset:typed-held-out", data_paths.snapshots / "t")
    assert _texts(typed.path) == ["Say yo.", "Say ok."]
    # A set made from a file has no tags or sources of its own: nothing to practise on.
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"question": "What is 9 plus 9?", "answer": "18"}) + "\n")
    create_eval_set(store, "from-file", "numeric", from_file=path)
    assert "evalset:from-file" not in prompt_choices(store)
    with pytest.raises(EmptyDatasetError, match="made from a file"):
        export_prompt_snapshot(store, "evalset:from-file", data_paths.snapshots / "f")
    with pytest.raises(PromptSelectorError, match="no eval set named 'nope'"):
        export_prompt_snapshot(store, "evalset:nope", data_paths.snapshots / "n")


def test_a_judge_grader_is_checked_against_the_registry_at_launch(
        store: Store, data_paths: DataPaths, demo_model_dir: Path) -> None:
    populate(store, 4)
    snapshot = export_prompt_snapshot(store, "synthetic", data_paths.snapshots / "s")
    config = grpo_config(demo_model_dir, snapshot.path, graders=["judge:nope"])
    assert not config.problems()  # without the registry only the spec's shape is checked
    launch = create_checked_run(store, data_paths, config)
    assert launch.run is None
    assert any("'nope'" in c.message or "nope" in c.message for c in launch.checks
               if c.level == "error")
    assert "judge:MODEL_ID needs a model id" in str(
        grpo_config(demo_model_dir, snapshot.path, graders=["judge:"]).problems())


def test_grpo_and_best_of_n_use_a_judge_model(
        store: Store, data_paths: DataPaths, demo_model_dir: Path, demo_gguf: Path,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = add_base_model(store, demo_model_dir)
    judge = add_gguf(store, demo_gguf, base.id, "F16")
    populate(store, 4)
    code = cli(store, data_paths, "train", "--method", "grpo", "--grader",
               f"judge:{judge.id}", "--prompts", "synthetic", "--model", str(demo_model_dir),
               "--preset", "quick", "--no-probe", "--set", "max_steps=1", "--set",
               "batch_size=2", "--set", "num_generations=2", "--set",
               "max_completion_length=4", "--set", "completions_every=1")
    out = capsys.readouterr().out
    assert code == 0, out
    (run,) = list_runs(store)
    events = read_events(run.dir.events)
    assert events[-1].event == "finished", events[-1]
    (step,) = [e for e in events if e.event == "step"]
    assert 0.0 <= step["reward"] <= 1.0
    table = [e for e in events if e.event == "completions"][-1]
    assert "machine-made" in table["samples"][0]["reason"]
    prompt_id = store.add_prompt("What is 2 plus 2?")
    for text in ("4", "five", "22"):
        store.add_response(prompt_id, text, origin="model", model="m1", source="generate")
    store.label_gold(prompt_id, "4", "me")  # the reference of ``exact``
    snapshot = best_of_n(store, f"any:judge:{judge.id};;exact", tmp_path / "winners")
    manifest = json.loads((snapshot.path / "manifest.json").read_text())
    assert manifest["grader"] == f"any:judge:{judge.id};;exact"
