"""GRPO: prompts from the store, graders as rewards (real TRL GRPOTrainer, tiny model)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import psutil
import pytest

from backends.lib.train_synthetic import populate
from studio.app.training import create_probe
from studio.cli.train import add_train_commands, run_train_command
from studio.db.store import Store
from studio.errors import EmptyDatasetError
from studio.evaluation.evalsets import create_eval_set
from studio.events import Event, read_events
from studio.paths import DataPaths
from studio.training.config import METHOD_HELP, ConfigError, TrainConfig
from studio.training.describe import describe
from studio.training.grpo import export_prompt_snapshot
from studio.training.grpo_probe import GrpoProbeConfig, probe_checks
from studio.training.preflight import preflight
from studio.training.runs import (
    cancel_run,
    create_run,
    get_run,
    list_runs,
    resume_run,
    start_next,
    sync_run,
)
from tests.test_train import assert_adapter_loads, wait_for

# Matches about half of the tiny random model's 8-token answers: rewards vary in groups.
LETTER_O = "regex:o"


def cli(store: Store, paths: DataPaths, *argv: str) -> int | None:
    parser = argparse.ArgumentParser()
    add_train_commands(parser.add_subparsers(dest="command"))
    return run_train_command(parser.parse_args(list(argv)), store, paths)


def grpo_config(model: Path, snapshot: Path, **overrides: object) -> TrainConfig:
    values: dict[str, object] = {
        "graders": [LETTER_O], "prompts": "synthetic", "snapshot_dir": str(snapshot),
        "max_steps": 3, "batch_size": 2, "num_generations": 2, "max_completion_length": 8,
        "lora_r": 8, "lora_alpha": 16, "learning_rate": 1e-3, "completions_every": 1,
        **overrides}
    return TrainConfig.for_method("grpo", str(model), "quick", **values)


def test_prompt_snapshot_leaves_eval_prompts_out(store: Store, data_paths: DataPaths,
                                                 tmp_path: Path) -> None:
    populate(store, 12)
    questions = tmp_path / "eval.jsonl"
    questions.write_text(json.dumps({"question": "What colour is the sky?", "answer": "blue"})
                         + "\n")
    create_eval_set(store, "colours", "contains:blue", from_file=questions)
    store.add_prompt("Name a colour.", tags=["practice"])
    tagged = export_prompt_snapshot(store, "practice", data_paths.snapshots / "p")
    rows = [json.loads(line) for line in (tagged.path / "train.jsonl").read_text()
            .splitlines()]
    assert [r["prompt"][-1]["content"] for r in rows] == ["Name a colour."]
    everything = export_prompt_snapshot(store, "all", data_paths.snapshots / "a")
    texts = (everything.path / "train.jsonl").read_text()
    assert "What colour is the sky?\"" not in texts  # the eval prompt, exactly
    manifest = json.loads((everything.path / "manifest.json").read_text())
    assert manifest["kind"] == "grpo"
    assert manifest["excluded_eval_prompts"] == 1
    assert everything.counts["train"] == 12  # 12 synthetic + 1 tagged - the eval one
    synthetic = export_prompt_snapshot(store, "synthetic", data_paths.snapshots / "s")
    first = json.loads((synthetic.path / "train.jsonl").read_text().splitlines()[0])
    assert first["reference"].startswith("ANSWER: ")  # the gold answer is the reference
    assert synthetic.counts["train"] == 11  # the sky prompt is in the eval set
    with pytest.raises(EmptyDatasetError, match="no-such-tag"):
        export_prompt_snapshot(store, "no-such-tag", data_paths.snapshots / "x")


def test_config_checks_graders_and_weights() -> None:
    config = TrainConfig.for_method("grpo", "m", graders=[LETTER_O, "numeric"])
    assert not config.problems()
    assert config.effective_learning_rate == 3e-4
    assert len(METHOD_HELP["grpo"].split(". ")) == 1
    with pytest.raises(ConfigError, match="graders"):
        TrainConfig.from_dict({**config.to_dict(), "graders": []})
    with pytest.raises(ConfigError, match="unknown grader spec"):
        TrainConfig.from_dict({**config.to_dict(), "graders": ["nonsense:x"]})
    with pytest.raises(ConfigError, match="reward_weights"):
        TrainConfig.from_dict({**config.to_dict(), "reward_weights": [1.0]})
    with pytest.raises(ConfigError, match="num_generations"):
        TrainConfig.from_dict({**config.to_dict(), "num_generations": 1})


def test_cli_trains_with_a_regex_grader(store: Store, data_paths: DataPaths,
                                        demo_model_dir: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    populate(store, 8)
    code = cli(store, data_paths, "train", "--method", "grpo", "--grader", LETTER_O,
               "--grader", "words:1-3", "--prompts", "synthetic", "--model",
               str(demo_model_dir), "--preset", "quick", "--set", "max_steps=3",
               "--set", "batch_size=2", "--set", "num_generations=2",
               "--set", "max_completion_length=8", "--set", "completions_every=2",
               "--set", "reward_weights=[1.0, 0.5]")
    out = capsys.readouterr().out
    assert code == 0, out
    # The probe ran before the launch, through the Train page's use case, on the run's prompts.
    assert "probing the base model: sampling 6 prompts" in out
    assert "info: the base model passes" in out
    (probe_dir,) = (data_paths.root / "jobs").glob("grpo-probe-*")
    probed = GrpoProbeConfig.load(probe_dir)
    assert (probed.prompts, probed.generations) == (6, 2)
    (run,) = list_runs(store)
    assert (run.method, run.status) == ("grpo", "completed")
    events = read_events(run.dir.events)
    started = next(e for e in events if e.event == "started")
    assert started["config"]["num_generations"] == 2
    assert started["config"]["per_device_train_batch_size"] == 4
    assert started["config"]["use_vllm"] is False
    steps = [e for e in events if e.event == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3]
    for step in steps:
        assert 0.0 <= step["reward"] <= 1.5
        assert math.isfinite(step["reward_std"])
        assert 0.0 <= step["frac_reward_zero_std"] <= 1.0
        assert step["completions/mean_length"] > 0
    tables = [e for e in events if e.event == "completions"]
    assert [e["step"] for e in tables] == [0, 2]  # 0: the base model's own answers
    table = tables[-1]
    sample = table["samples"][0]
    assert set(sample["scores"]) == {LETTER_O, "words:1-3"}
    assert sample["prompt"].startswith("What colour is the")
    assert events[-1].event == "finished"
    assert_adapter_loads(run.dir.adapter, demo_model_dir)
    assert json.loads((Path(probed.snapshot_dir) / "manifest.json").read_text())["id"] == \
        json.loads((run.dir.snapshot / "manifest.json").read_text())["id"]


def test_python_file_grader_runs_inside_the_reward(store: Store, data_paths: DataPaths,
                                                   demo_model_dir: Path,
                                                   tmp_path: Path) -> None:
    populate(store, 6)
    grader = tmp_path / "grade.py"
    grader.write_text("def grade(prompt, response, reference):\n"
                      "    return (1.0 if len(response) % 2 else 0.0), 'odd length'\n")
    snapshot = export_prompt_snapshot(store, "synthetic", data_paths.snapshots / "g")
    config = grpo_config(demo_model_dir, snapshot.path, graders=[f"python:{grader}"],
                         max_steps=2)
    run = create_run(store, data_paths, config, snapshot.path)
    started = start_next(store, data_paths)
    assert started is not None
    wait_for(lambda: sync_run(store, run.id).status != "running", timeout=180)
    assert started.pid
    wait_for(lambda: not psutil.pid_exists(started.pid))
    events = read_events(run.dir.events)
    assert events[-1].event == "finished", events[-1].fields
    tables = [e for e in events if e.event == "completions"]
    assert tables
    assert tables[0]["samples"][0]["reason"] == "odd length"


def test_cancel_then_resume_keeps_the_step_count(store: Store, data_paths: DataPaths,
                                                 demo_model_dir: Path) -> None:
    populate(store, 8)
    snapshot = export_prompt_snapshot(store, "synthetic", data_paths.snapshots / "c")
    config = grpo_config(demo_model_dir, snapshot.path, max_steps=30, save_steps=1000,
                         completions_every=0)
    run = create_run(store, data_paths, config, snapshot.path)
    first = start_next(store, data_paths)
    assert first is not None
    assert first.pid
    wait_for(lambda: any(e.event == "step" and e["step"] >= 2
                         for e in read_events(run.dir.events)))
    cancel_run(store, run.id)
    wait_for(lambda: sync_run(store, run.id).status != "running")
    cancelled = read_events(run.dir.events)[-1]
    assert cancelled.event == "cancelled"
    assert 2 <= cancelled["step"] < 30
    wait_for(lambda: not psutil.pid_exists(first.pid))
    resume_run(store, run.id)
    second = start_next(store, data_paths)
    assert second is not None
    assert second.pid
    wait_for(lambda: sync_run(store, run.id).status != "running", timeout=240)
    wait_for(lambda: not psutil.pid_exists(second.pid))
    assert get_run(store, run.id).status == "completed"
    events = read_events(run.dir.events)
    assert [e for e in events if e.event == "started"][-1]["resumed_from"] == cancelled["step"]
    assert [e["step"] for e in events if e.event == "step"] == list(range(1, 31))


def test_preflight_wants_a_prompt_snapshot(store: Store, data_paths: DataPaths,
                                           demo_model_dir: Path) -> None:
    populate(store, 6)
    snapshot = export_prompt_snapshot(store, "synthetic", data_paths.snapshots / "p")
    checks = preflight(grpo_config(demo_model_dir, snapshot.path), memory=False)
    assert not [c for c in checks if c.level in ("error", "warning")], checks


def test_probe_checks_say_when_there_is_no_signal() -> None:
    def finished(**fields: object) -> Event:
        return Event("finished", 0.0, fields=dict(fields))

    zero = probe_checks(finished(pass_rate=0.0, n=24, groups=6, groups_with_variance=0))
    assert any("no signal for RL to learn from" in c.message and "SFT" in c.message
               for c in zero)
    flat = probe_checks(finished(pass_rate=1.0, n=24, groups=6, groups_with_variance=0))
    assert any("constant within every group" in c.message for c in flat)
    good = probe_checks(finished(pass_rate=0.25, n=24, groups=6, groups_with_variance=4))
    assert [c.level for c in good] == ["info"]
    assert "25% of 24" in good[0].message
    assert probe_checks(None)[0].level == "warning"


def test_probe_use_case_snapshots_the_chosen_prompts_or_keeps_the_runs(
        store: Store, data_paths: DataPaths, demo_model_dir: Path, tmp_path: Path) -> None:
    populate(store, 4)
    page_config = grpo_config(demo_model_dir, Path(), snapshot_dir="")  # the Train page's
    probe = create_probe(store, data_paths, page_config)
    assert probe.checks == []
    assert probe.job_dir is not None
    assert probe.prompts == 4  # fewer prompts than the probe would sample
    probed = GrpoProbeConfig.load(probe.job_dir)
    probed_manifest = json.loads((Path(probed.snapshot_dir) / "manifest.json").read_text())
    # Named by its content, like the launch's (a folder never rewritten under a reader).
    assert Path(probed.snapshot_dir) == (data_paths.snapshots / probed_manifest["id"]).resolve()
    assert len((Path(probed.snapshot_dir) / "train.jsonl").read_text().splitlines()) == 4
    run_snapshot = export_prompt_snapshot(store, "synthetic", data_paths.snapshots / "r")
    cli_probe = create_probe(store, data_paths, grpo_config(demo_model_dir, run_snapshot.path),
                             prompts=2)
    assert cli_probe.job_dir is not None
    assert cli_probe.prompts == 2
    assert GrpoProbeConfig.load(cli_probe.job_dir).snapshot_dir == \
        str(run_snapshot.path.resolve())  # the CLI probes what its run trains on
    missing = create_probe(store, data_paths, grpo_config(tmp_path / "gone", Path()))
    assert missing.job_dir is None
    assert [c.level for c in missing.checks] == ["error"]
    no_judge = create_probe(store, data_paths, grpo_config(demo_model_dir, run_snapshot.path,
                                                           graders=["judge:no-such-model"]))
    assert no_judge.job_dir is None
    assert "no-such-model" in no_judge.checks[0].message


def test_a_step_without_reward_variance_is_called_out() -> None:
    flat = Event("step", 0.0, fields={"step": 3, "max_steps": 9, "loss": 0.0, "reward": 1.0,
                                      "reward_std": 0.0, "frac_reward_zero_std": 1.0})
    line = describe(flat)
    assert "reward=1 reward_std=0" in line
    assert "nothing to learn here" in line


def test_grpo_stops_when_its_time_budget_is_spent(store: Store, data_paths: DataPaths,
                                                   demo_model_dir: Path) -> None:
    """No step count fits a GRPO budget ahead (answers vary in length): the run trains until
    its share is spent, then saves that step as the adapter and finishes."""
    populate(store, 8)
    snapshot = export_prompt_snapshot(store, "synthetic", data_paths.snapshots / "b")
    config = grpo_config(demo_model_dir, snapshot.path, max_steps=200, save_steps=1000,
                         completions_every=0, time_budget_minutes=0.05)
    run = create_run(store, data_paths, config, snapshot.path)
    started = start_next(store, data_paths)
    assert started is not None
    wait_for(lambda: sync_run(store, run.id).status != "running", timeout=240)
    events = read_events(run.dir.events)
    assert events[-1].event == "finished", events[-1].fields
    steps = [e["step"] for e in events if e.event == "step"]
    assert 1 <= max(steps) < 200
    assert any(e.get("stage") == "budget" and "time budget reached" in e.get("message", "")
               for e in events)
    assert (run.dir.adapter / "adapter_config.json").is_file()
