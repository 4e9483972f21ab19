"""Issue 21: a run fits the person's time. Steps and evaluation sized from a measured step
(``studio.training.budget``), durations in words, and the run itself timing one real step
on the tiny model and keeping to the plan it made."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from studio.db.store import Store
from studio.durations import duration
from studio.paths import DataPaths
from studio.training.budget import (
    EVAL_COST,
    EVAL_SHARE,
    MIN_EVAL_S,
    budget_seconds,
    plan,
)
from studio.training.config import TrainConfig


def config(**overrides: object) -> TrainConfig:
    return TrainConfig.for_method("sft", "m", "balanced", **overrides)


def eval_seconds(cfg: TrainConfig, steps: int, sample: int, every: int, step_s: float) -> float:
    per_example = step_s / cfg.batch_size * EVAL_COST["sft"]
    return math.ceil(steps / every) * sample * per_example


@pytest.mark.parametrize(("seconds", "text"), [
    (45, "45 s"), (200, "3 min 20 s"), (240, "4 min"), (1500, "25 min"),
    (139356, "38 h 43 min"), (7200, "2 h")])
def test_durations_read_as_durations(seconds: float, text: str) -> None:
    assert duration(seconds) == text  # not "2322:36", which reads like a time of day


def test_the_default_budget_is_an_hour_on_a_cpu_and_none_on_a_gpu() -> None:
    assert budget_seconds(config(), "cpu") == 3600
    assert budget_seconds(config(), "cuda") is None
    assert budget_seconds(config(time_budget_minutes=20), "cuda") == 1200
    assert budget_seconds(config(time_budget_minutes=0), "cpu") is None
    assert config(time_budget_minutes=-1).problems()[0][0] == "time_budget_minutes"


def test_a_budget_caps_the_steps_and_warns_when_too_short_to_teach() -> None:
    # The run: 1,390 SFT examples, the default preset, a loaded 2-core CPU.
    found = plan(config(), 1390, 150, step_s=147.0, budget_s=20 * 60, elapsed_s=60)
    assert found.max_steps == found.steps == 6  # (1200 - 60 - 10) x 0.9 / 147
    assert found.steps * found.step_s <= 20 * 60
    assert found.warning is not None
    assert "too few to teach" in found.warning
    assert "0.0 passes over the 1,390 training examples" in found.warning


def test_the_preset_is_kept_when_it_fits() -> None:
    found = plan(config(), 25, 3, step_s=5.0, budget_s=20 * 60, elapsed_s=30)
    assert found.max_steps == -1  # the preset's 3 epochs: 21 steps
    assert found.steps == 21
    assert found.passes >= 3
    assert found.warning is None
    assert "within 20 min" in found.summary()


def test_evaluation_takes_about_a_tenth_of_the_run() -> None:
    # The eval: 31 held-out examples every 2 of 6 steps, 5-6 min each.
    cfg = config(max_steps=6)
    found = plan(cfg, 1390, 31, step_s=50.0, budget_s=None)
    spent = eval_seconds(cfg, 6, found.eval_sample, found.eval_steps, 50.0)
    assert spent <= max(EVAL_SHARE * 6 * 50.0, MIN_EVAL_S)  # was 3 x 31 examples: 17 min
    assert found.eval_steps == 6  # too costly along the way: once, at the end
    # A longer run evaluates along the way, still within the share.
    cfg = config(max_steps=200)
    found = plan(cfg, 5000, 300, step_s=30.0, budget_s=None)
    assert found.eval_steps == 50
    assert 8 <= found.eval_sample <= 32
    assert eval_seconds(cfg, 200, found.eval_sample, found.eval_steps, 30.0) \
        <= EVAL_SHARE * 200 * 30.0


def test_a_tiny_run_keeps_its_evaluations() -> None:
    """Milliseconds of evaluation do not matter: the floor keeps the old four evaluations."""
    found = plan(config(max_steps=8), 40, 6, step_s=0.03, budget_s=3600)
    assert (found.eval_sample, found.eval_steps) == (6, 2)
    kept = plan(config(max_steps=8, eval_steps=3), 40, 6, step_s=0.03, budget_s=3600)
    assert kept.eval_steps == 3  # the person's setting stays


def test_the_run_times_a_step_and_keeps_its_plan(tmp_path: Path, demo_model_dir: Path) -> None:
    """A real run on the tiny model: its budget plan is in the started event and budget.json,
    a 0.05-minute budget cuts its steps, and the run still ends with an adapter."""
    from backends.lib.train_synthetic import populate
    from studio.data.snapshots import export_snapshot
    from studio.jobs.launch import run_foreground
    from studio.training.runs import RunDir
    store = Store.open(tmp_path / "studio.db")
    populate(store, 40)
    snapshot = export_snapshot(store, "sft", tmp_path / "snap")
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    shutil.copytree(snapshot.path, run.snapshot)
    cfg = TrainConfig.for_method("sft", str(demo_model_dir), "balanced", max_length=64,
                                 num_epochs=50.0, time_budget_minutes=0.2,
                                 snapshot_dir=str(run.snapshot))
    cfg.save(run.config)
    events: list = []
    last = run_foreground("train", run.path, events.append)
    assert last is not None
    assert last.event == "finished", [e.event for e in events]
    (started,) = [e for e in events if e.event == "started"]
    budget = started["budget"]
    assert budget["step_s"] > 0
    assert budget["steps"] < 50 * 9  # 50 epochs of 36 examples would not fit 12 s
    saved = json.loads((run.path / "budget.json").read_text())
    assert saved == budget
    steps = [e for e in events if e.event == "step"]
    assert steps[-1]["step"] == budget["steps"] == started["max_steps"]
    assert any(e.event == "progress" and e.get("stage") == "budget" for e in events)
    store.close()


def test_an_exports_eta_covers_the_whole_export() -> None:
    """After the 30 s load of a Q8_0 export, about 41 + 55 + 57 + 2 s of work are left."""
    from backends.lib.export_pipeline import whole_eta

    plan = ["check", "load", "convert", "selfcheck", "quantize", "register"]
    assert whole_eta(plan, 0, 0.0) is None
    assert whole_eta(plan, 1, 0.1) is None  # the check alone says nothing of the rest
    left = whole_eta(plan, 2, 30.5)
    assert left is not None
    assert 150 <= left <= 160
    assert duration(left) == "2 min 35 s"


def test_pre_flight_warns_from_an_earlier_runs_measured_step(
        store: Store, data_paths: DataPaths, tmp_path: Path) -> None:
    """A run of the same model and settings measured 30 s a step: a 10-minute budget on 1,000
    examples is too short, and pre-flight says so before anything starts."""
    from backends.lib.train_synthetic import populate
    from studio.app.train_budget import budget_checks
    from studio.data.snapshots import export_snapshot
    from studio.training.budget import PLAN_FILE
    from studio.training.runs import create_run

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    populate(store, 12)
    snapshot = export_snapshot(store, "sft", tmp_path / "snap")
    cfg = TrainConfig.for_method("sft", str(model), snapshot_dir=str(snapshot.path),
                                 time_budget_minutes=10)
    assert "times one step here" in budget_checks(store, cfg)[0].message  # nothing measured
    earlier = create_run(store, data_paths, cfg)
    (earlier.run_dir / PLAN_FILE).write_text(json.dumps({"step_s": 30.0}))
    manifest = json.loads((snapshot.path / "manifest.json").read_text())
    manifest["counts"]["train"] = 1000  # as if the labels had grown since
    (snapshot.path / "manifest.json").write_text(json.dumps(manifest))
    checks = budget_checks(store, cfg)
    assert [c.level for c in checks] == ["info", "warning"]
    assert f"measured by run {earlier.id}" in checks[0].message
    assert "too few to teach anything" in checks[1].message
    other = TrainConfig.for_method("sft", str(model), snapshot_dir=str(snapshot.path),
                                   batch_size=8)  # another step: not measured yet
    assert "times one step here" in budget_checks(store, other)[0].message


def test_a_probe_is_sized_to_its_budget(store: Store, data_paths: DataPaths,
                                        demo_model_dir: Path) -> None:
    """GRPO's probe gets a tenth of the run's budget; once spent it stops after two prompts
    (on a CPU, 6 prompts x 8 answers once took 16 minutes before a run)."""
    from backends.lib.train_synthetic import populate
    from studio.app.training import create_probe
    from studio.jobs.launch import run_foreground
    from studio.training.grpo_probe import PROBE_MODULE, GrpoProbeConfig, probe_seconds
    from tests.test_grpo import grpo_config

    populate(store, 6)
    config = grpo_config(demo_model_dir, Path(), snapshot_dir="")
    assert probe_seconds(config) == 360  # a tenth of the default hour
    assert probe_seconds(grpo_config(demo_model_dir, Path(), time_budget_minutes=20)) == 120
    probe = create_probe(store, data_paths, config)
    assert probe.job_dir is not None
    probed = GrpoProbeConfig.load(probe.job_dir)
    assert probed.time_limit_s == 360
    probed.time_limit_s = 0.001  # as if sampling were slow: the budget is spent at once
    probed.save(probe.job_dir)
    last = run_foreground(PROBE_MODULE, probe.job_dir, lambda event: None)
    assert last is not None
    assert last.event == "finished"
    assert last["groups"] == 2  # of 6: two prompts still say something of the spread
    assert last["n"] == 2 * config.num_generations
