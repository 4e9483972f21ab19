"""The run list: folders, the queue, liveness and reconciling rows from events."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from backends.lib.train_synthetic import populate, synthetic_run
from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.events import EventWriter
from studio.paths import DataPaths
from studio.registry.models import list_models
from studio.training.runs import (
    RunError,
    cancel_run,
    claim_next,
    get_run,
    list_runs,
    resume_run,
    start_next,
    sync_all,
    sync_run,
)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A registrable model folder: the registry needs only config.json, not weights."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    return folder


@pytest.fixture
def labeled(store: Store) -> Store:
    populate(store, 12)
    return store


class SleepLauncher:
    """Starts a real, harmless process that names the run folder (as the backend does)."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def __call__(self, module: str, job_dir: Path) -> int:
        assert module == "train"
        process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                    str(job_dir)], stdin=subprocess.DEVNULL)
        self.processes.append(process)
        return process.pid

    def stop(self) -> None:
        for process in self.processes:
            process.kill()
            process.wait()


@pytest.fixture
def launcher() -> SleepLauncher:
    started = SleepLauncher()
    yield started
    started.stop()


def test_create_run_freezes_config_and_snapshot(labeled: Store, data_paths: DataPaths,
                                                model_dir: Path) -> None:
    run = synthetic_run(labeled, data_paths, "dpo", str(model_dir))
    assert run.status == "queued"
    assert run.run_dir.parent == data_paths.runs
    assert (run.dir.snapshot / "train.jsonl").exists()
    config = json.loads(run.dir.config.read_text())
    assert config["snapshot_dir"] == str(run.dir.snapshot)
    assert run.train_config.method == "dpo"
    assert run.snapshot_id is not None
    base = list_models(labeled, "base")
    assert [m.id for m in base] == [run.parent_model_id]
    frozen = (run.dir.snapshot / "train.jsonl").read_text()
    populate(labeled, 20)  # labeling goes on and the snapshot is exported again ...
    fresh = export_snapshot(labeled, "dpo", data_paths.snapshots / "dpo", 0.2)
    assert (fresh.path / "train.jsonl").read_text() != frozen
    assert (run.dir.snapshot / "train.jsonl").read_text() == frozen  # ... the run keeps its copy


def test_one_run_at_a_time(labeled: Store, data_paths: DataPaths, model_dir: Path,
                           launcher: SleepLauncher) -> None:
    first = synthetic_run(labeled, data_paths, "sft", str(model_dir))
    second = synthetic_run(labeled, data_paths, "kto", str(model_dir))
    started = start_next(labeled, data_paths, launcher)
    assert started is not None
    assert started.id == first.id
    assert started.dir.is_alive()
    assert start_next(labeled, data_paths, launcher) is None
    assert claim_next(labeled, second.id) is None
    assert get_run(labeled, second.id).status == "queued"
    assert [r.id for r in sync_all(labeled)] == [first.id]


def test_a_killed_run_is_reported_and_resumable(labeled: Store, data_paths: DataPaths,
                                                model_dir: Path, launcher: SleepLauncher) -> None:
    run = synthetic_run(labeled, data_paths, "sft", str(model_dir))
    start_next(labeled, data_paths, launcher)
    psutil.Process(run.dir.read_pid() or 0).kill()
    launcher.stop()
    failed = sync_run(labeled, run.id)
    assert failed.status == "failed"
    assert "stopped without reporting" in (failed.error or "")
    assert resume_run(labeled, run.id).status == "queued"
    with pytest.raises(RunError, match="only cancelled or failed runs resume"):
        resume_run(labeled, run.id)


def test_status_follows_the_last_event(labeled: Store, data_paths: DataPaths,
                                       model_dir: Path) -> None:
    run = synthetic_run(labeled, data_paths, "sft", str(model_dir))
    claim_next(labeled)
    run.dir.write_pid(2**22 + 12345)  # no such process
    writer = EventWriter(run.dir.events)
    writer.emit("started", max_steps=2)
    writer.emit("failed", message="the device ran out of memory", log="train.log")
    failed = sync_run(labeled, run.id)
    assert failed.status == "failed"
    assert failed.error == "the device ran out of memory"

    resume_run(labeled, run.id)
    claim_next(labeled)
    run.dir.adapter.mkdir()
    (run.dir.adapter / "adapter_config.json").write_text("{}")
    writer.emit("finished", adapter=str(run.dir.adapter), step=2,
                metrics={"eval_loss": 1.5}, wall_s=3.0, tokens_per_s=100.0)
    done = sync_run(labeled, run.id)
    assert done.status == "completed"
    assert done.metrics["eval_loss"] == 1.5
    adapters = list_models(labeled, "adapter")
    assert [a.run_id for a in adapters] == [run.id]
    assert adapters[0].parent_id == run.parent_model_id
    sync_run(labeled, run.id)
    assert len(list_models(labeled, "adapter")) == 1


def test_cancel(labeled: Store, data_paths: DataPaths, model_dir: Path,
                launcher: SleepLauncher) -> None:
    queued = synthetic_run(labeled, data_paths, "sft", str(model_dir))
    assert cancel_run(labeled, queued.id).status == "cancelled"
    with pytest.raises(RunError, match="nothing to cancel"):
        cancel_run(labeled, queued.id)
    running = synthetic_run(labeled, data_paths, "sft", str(model_dir))
    start_next(labeled, data_paths, launcher)
    cancel_run(labeled, running.id)  # SIGTERM: the sleeper dies without a final event
    launcher.processes[0].wait(timeout=10)
    assert sync_run(labeled, running.id).status == "failed"
    assert [r.id for r in list_runs(labeled)] == [running.id, queued.id]
