"""SimPO and ORPO: reference-free pairwise training on DPO pairs (real TRL, tiny model)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import psutil
import pytest

from backends.lib.train_synthetic import populate, synthetic_run_config
from studio.cli.train import add_train_commands, run_train_command
from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.events import read_events
from studio.paths import DataPaths
from studio.training.config import METHOD_HELP, ConfigError, TrainConfig
from studio.training.memory import estimate_memory
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


def cli(store: Store, paths: DataPaths, *argv: str) -> int | None:
    parser = argparse.ArgumentParser()
    add_train_commands(parser.add_subparsers(dest="command"))
    return run_train_command(parser.parse_args(list(argv)), store, paths)


@pytest.mark.parametrize("method", ["simpo", "orpo"])
def test_cli_trains_a_loadable_adapter_from_dpo_pairs(
        method: str, store: Store, data_paths: DataPaths, demo_model_dir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    populate(store, 24)
    code = cli(store, data_paths, "train", "--method", method, "--kind", "dpo", "--model",
               str(demo_model_dir), "--preset", "quick", "--set", "max_steps=3",
               "--set", "max_length=64", "--set", "eval_steps=3")
    out = capsys.readouterr().out
    assert code == 0, out
    (run,) = list_runs(store)
    assert run.method == method
    assert run.status == "completed"
    events = read_events(run.dir.events)
    started = next(e for e in events if e.event == "started")
    assert started.event == "started"
    if method == "simpo":
        assert started["config"]["loss_type"] == "simpo"
        assert started["config"]["cpo_alpha"] == 1.0  # CPO-SimPO unless sft_weight is 0
        assert started["config"]["beta"] == 2.0
    steps = [e for e in events if e.event == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3]
    assert all(math.isfinite(e["loss"]) for e in steps)
    assert "rewards/margins" in steps[-1].fields
    evals = [e for e in events if e.event == "eval"]
    assert 0.0 <= evals[-1]["eval_rewards/accuracies"] <= 1.0
    assert events[-1].event == "finished"
    assert_adapter_loads(run.dir.adapter, demo_model_dir)
    assert "number of tokens seen" not in run.dir.log.read_text()


def test_simpo_cancel_then_resume_keeps_the_step_count(store: Store, data_paths: DataPaths,
                                                       demo_model_dir: Path) -> None:
    populate(store, 24)
    snapshot = export_snapshot(store, "dpo", data_paths.snapshots / "dpo", 0.2)
    config = synthetic_run_config("simpo", str(demo_model_dir), max_steps=40, eval_steps=1000,
                                  save_steps=1000)
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
    assert 2 <= cancelled["step"] < 40
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
    assert [e["step"] for e in events if e.event == "step"] == list(range(1, 41))


def test_preflight_asks_for_dpo_pairs(store: Store, data_paths: DataPaths,
                                      demo_model_dir: Path) -> None:
    populate(store, 12)
    sft = export_snapshot(store, "sft", data_paths.snapshots / "sft", 0.2)
    config = TrainConfig.for_method("orpo", str(demo_model_dir), "quick",
                                    snapshot_dir=str(sft.path))
    errors = [c.message for c in preflight(config, memory=False) if c.level == "error"]
    assert any("(it trains on DPO data)" in message for message in errors), errors
    dpo = export_snapshot(store, "dpo", data_paths.snapshots / "dpo", 0.2)
    ok = preflight(TrainConfig.for_method("simpo", str(demo_model_dir), "quick",
                                          snapshot_dir=str(dpo.path)), memory=False)
    assert not [c for c in ok if c.level == "error"]


def test_config_help_and_defaults() -> None:
    simpo = TrainConfig.for_method("simpo", "m")
    assert simpo.effective_learning_rate == 5e-4
    assert (simpo.effective_beta, simpo.effective_sft_weight) == (2.0, 1.0)
    dpo = TrainConfig.for_method("dpo", "m")
    assert (dpo.effective_beta, dpo.effective_sft_weight) == (0.1, 1.0)
    assert TrainConfig.for_method("orpo", "m").effective_learning_rate == 5e-4
    assert TrainConfig.for_method("orpo", "m", adapter="full").effective_learning_rate == 8e-6
    assert all(len(METHOD_HELP[m].split(". ")) == 1 for m in ("simpo", "orpo"))
    with pytest.raises(ConfigError, match="simpo_gamma"):
        TrainConfig.from_dict({**simpo.to_dict(), "simpo_gamma": -1})
    shape = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 4, "vocab_size": 1000}
    estimate = estimate_memory(simpo, shape, "cpu")
    assert estimate.reference == 0
    assert "no reference model" in estimate.note
    assert json.loads(simpo.to_json())["simpo_gamma"] == 0.5
