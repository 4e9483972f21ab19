"""Issue 12: the training use cases the Train page and the CLI share (studio/app/training.py).

Real SQLite, real snapshots and preflight, a real (harmless) child process per started run."""

from __future__ import annotations

import time
from pathlib import Path

import psutil
import pytest
from test_runs import SleepLauncher, labeled, launcher, model_dir

from backends.lib.train_synthetic import populate, synthetic_run
from studio.app.training import (
    advance_queue,
    launch_training,
    resume_training,
    snapshot_labels,
)
from studio.db.store import Store
from studio.errors import EmptyDatasetError
from studio.evaluation.general import trained_prompt_ids
from studio.paths import DataPaths
from studio.training.config import TrainConfig
from studio.training.remembered import FILE_NAME, recall
from studio.training.runs import RunDir, get_run, list_runs, start_next

__all__ = ["labeled", "launcher", "model_dir"]


def test_launch_snapshots_checks_creates_and_starts(labeled: Store, data_paths: DataPaths,
                                                     demo_model_dir: Path,
                                                     launcher: SleepLauncher) -> None:
    config = TrainConfig.for_method("sft", str(demo_model_dir), "quick")
    launch = launch_training(labeled, data_paths, config, launcher)
    assert launch.run is not None, [str(c) for c in launch.checks]
    assert launch.run.status == "running"
    assert launch.run.dir.is_alive()
    assert (launch.run.dir.snapshot / "manifest.json").exists()
    assert len(list(data_paths.snapshots.glob("sft-*/manifest.json"))) == 1
    remembered = recall(data_paths.root / FILE_NAME, "sft", "quick")
    assert remembered is not None
    assert remembered.model == str(demo_model_dir)


def test_a_failed_check_makes_nothing(store: Store, data_paths: DataPaths,
                                             model_dir: Path, launcher: SleepLauncher) -> None:
    with pytest.raises(EmptyDatasetError, match="no DPO examples"):
        launch_training(store, data_paths, TrainConfig.for_method("dpo", str(model_dir)),
                        launcher)
    populate(store, 12)
    launch = launch_training(store, data_paths, TrainConfig.for_method("dpo", str(model_dir)),
                             launcher)
    assert launch.run is None  # preflight: the model folder has no weights
    assert any(check.level == "error" for check in launch.checks)
    assert list_runs(store) == []
    assert launcher.processes == []


def test_a_run_ending_advances_the_queue(labeled: Store, data_paths: DataPaths,
                                         model_dir: Path, launcher: SleepLauncher) -> None:
    first = synthetic_run(labeled, data_paths, "sft", str(model_dir))
    second = synthetic_run(labeled, data_paths, "kto", str(model_dir))
    start_next(labeled, data_paths, launcher)
    _wait_alive(get_run(labeled, first.id).dir)
    assert advance_queue(labeled, data_paths, launcher) is None  # the first still trains
    psutil.Process(get_run(labeled, first.id).dir.read_pid() or 0).kill()
    launcher.processes[0].wait()
    started = advance_queue(labeled, data_paths, launcher)
    assert started is not None
    assert started.id == second.id
    assert get_run(labeled, first.id).status == "failed"
    populate(labeled, 2)
    resumed = resume_training(labeled, data_paths, first.id, launcher)
    assert resumed.status == "queued"  # the second is training: the first waits behind it


def _wait_alive(run: RunDir, timeout_s: float = 20.0) -> None:
    """Until the child runs its own command line: just after the fork it still shows the
    parent's, and liveness (which matches the run folder in it) would call it gone."""
    deadline = time.monotonic() + timeout_s
    while not run.is_alive():
        assert time.monotonic() < deadline, "the stand-in run process never started"
        time.sleep(0.05)


def test_label_snapshots_are_named_by_what_they_hold(labeled: Store,
                                                     data_paths: DataPaths) -> None:
    """Each launch's labels land in a folder of their own, written once: a later launch with
    other labels never rewrites the folder an earlier one is copying from (a fixed sft-latest
    was), the same labels find their folder again, and every registered snapshot keeps its
    prompts, so drift's "untrained prompts" leave out what any run trained on."""
    config = TrainConfig.for_method("sft", "model")
    first = Path(snapshot_labels(labeled, data_paths, config).snapshot_dir)
    before = (first / "train.jsonl").read_bytes() + (first / "eval.jsonl").read_bytes()
    assert Path(snapshot_labels(labeled, data_paths, config).snapshot_dir) == first
    prompt = labeled.add_prompt("A prompt labeled later")
    labeled.label_gold(prompt, "A gold answer written later", "me")
    second = Path(snapshot_labels(labeled, data_paths, config).snapshot_dir)
    assert second != first
    assert second.parent == first.parent == data_paths.snapshots
    assert (first / "train.jsonl").read_bytes() + (first / "eval.jsonl").read_bytes() == before
    assert prompt in trained_prompt_ids(labeled)
    assert not list(data_paths.snapshots.glob(".*partial"))
