"""DPO with an imitation loss on the chosen answer (RPO): TRL combines its sigmoid preference
loss with an SFT loss; on the real model, ranking pairs alone left the answers unchanged."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from backends.lib.train_synthetic import populate
from studio.db.store import Store
from studio.events import Event, read_events
from studio.paths import DataPaths
from studio.training.config import TrainConfig
from studio.training.runs import Run, list_runs
from tests.test_rl_preference import cli
from tests.test_train import assert_adapter_loads


def _two_steps(method: str, sft_weight: str, store: Store, data_paths: DataPaths,
               model: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Run, list[Event]]:
    """A two-step CLI run of ``method`` on DPO pairs with the given imitation weight."""
    populate(store, 24)
    code = cli(store, data_paths, "train", "--method", method, "--kind", "dpo", "--model",
               str(model), "--preset", "quick", "--set", "max_steps=2", "--set",
               "max_length=64", "--set", f"sft_weight={sft_weight}", "--set", "eval_steps=2")
    assert code == 0, capsys.readouterr().out
    (run,) = list_runs(store)
    # The started event first: a CPU run may time one step for its budget before it
    events = read_events(run.dir.events)
    return run, [e for e in events if e.event == "started"] + [
        e for e in events if e.event != "started"]


def test_dpo_trains_with_the_imitation_loss(store: Store, data_paths: DataPaths,
                                            demo_model_dir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    run, events = _two_steps("dpo", "1.0", store, data_paths, demo_model_dir, capsys)
    assert events[0]["config"]["loss_type"] == ["sigmoid", "sft"]
    assert events[0]["config"]["loss_weights"] == [1.0, 1.0]
    steps = [e for e in events if e.event == "step"]
    assert steps
    assert all(math.isfinite(e["loss"]) for e in steps)
    assert events[-1].event == "finished"
    assert_adapter_loads(run.dir.adapter, demo_model_dir)


def test_simpo_without_an_imitation_weight_is_the_papers(store: Store, data_paths: DataPaths,
                                                      demo_model_dir: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _, events = _two_steps("simpo", "0", store, data_paths, demo_model_dir, capsys)
    assert events[0]["config"]["cpo_alpha"] == 0.0
    steps = [e for e in events if e.event == "step"]
    assert steps[-1]["nll_loss"] == 0  # no imitation term in the loss
    assert events[-1].event == "finished"


def test_a_negative_imitation_weight_is_refused() -> None:
    config = TrainConfig.for_method("dpo", "m", sft_weight=-1.0)
    assert ("sft_weight", "must be 0 or more") in config.problems()
