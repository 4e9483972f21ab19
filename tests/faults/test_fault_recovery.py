"""Family 5: runs and writes recover, and say why they stopped: damaged checkpoints are set
aside for the newest intact one; a full disk ends in "the disk is full (N MB free on ...)",
with partial output removed and the database unchanged."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from small_disk import fill_disk as _fill
from small_disk import mounted_small_disk
from test_export_helpers import shared_adapter

from backends.lib.checkpoints import resumable_checkpoint
from backends.lib.export_merge import NotEnoughSpaceError
from backends.lib.export_pipeline import run_export as run_pipeline
from backends.lib.train_synthetic import populate, synthetic_run
from studio.data.importing.importer import import_path
from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.errors import DiskFullError
from studio.events import Event, EventWriter, read_events
from studio.jobs.launch import PROJECT_ROOT as REPO
from studio.jobs.launch import follow, spawn
from studio.paths import DataPaths
from studio.registry import models
from studio.registry.converter import prepare_converter
from studio.registry.export_config import ExportConfig, create_export_job
from studio.registry.models import list_models
from studio.training.runs import get_run, launch_command


def _rows(path: Path, count: int) -> Path:
    path.write_text("".join(json.dumps({"prompt": f"question {i} " + "x" * 400,
                                        "completion": f"answer {i} " + "y" * 400}) + "\n"
                            for i in range(count)))
    return path


def test_import_on_a_full_disk_says_so_and_stores_nothing(
        small_disk: Path, tmp_path: Path, lost_writes: Callable[[int], None]) -> None:
    store = Store.open(small_disk / "studio.db")
    kept = store.label_gold(store.add_prompt("before"), "confirmed", "me")
    filler = _fill(small_disk, leave=64 * 1024)
    with pytest.raises(DiskFullError, match=r"the disk is full \(\d+ MB free on .*small-disk"):
        import_path(store, _rows(tmp_path / "big.jsonl", 3000))
    assert store.counts()["prompts"] == 1
    lost_writes(0 if store.label(kept.id).value == "gold" else 1)
    filler.unlink()
    assert import_path(store, _rows(tmp_path / "small.jsonl", 20)).prompts_added == 20
    store.close()


def test_snapshot_export_on_a_full_disk_leaves_nothing_behind(
        store: Store, small_disk: Path) -> None:
    prompt = store.add_prompt("p")
    store.label_gold(prompt, "g" * 200_000, "me")
    _fill(small_disk, leave=16 * 1024)
    with pytest.raises(DiskFullError, match=r"the disk is full \(\d+ MB free"):
        export_snapshot(store, "sft", small_disk / "snap")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
    assert store.db.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 0


def _checkpoint(root: Path, step: int, damage: str | None = None) -> Path:
    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    state = json.dumps({"global_step": step, "log_history": []})
    (folder / "trainer_state.json").write_text(state[:10] if damage == "state" else state)
    weights = folder / "adapter_model.safetensors"
    save_file({"lora_A": np.ones((64, 64), dtype=np.float32)}, str(weights))
    if damage == "weights":
        weights.write_bytes(weights.read_bytes()[:2000])
    if damage == "header":
        weights.write_bytes(b"\xff" * 16)
    return folder


@pytest.mark.parametrize("damage", ["state", "weights", "header", "missing weights"])
def test_resume_falls_back_to_the_newest_intact_checkpoint(tmp_path: Path, damage: str) -> None:
    _checkpoint(tmp_path, 10)
    _checkpoint(tmp_path, 20)
    broken = _checkpoint(tmp_path, 30, damage)
    if damage == "missing weights":
        (broken / "adapter_model.safetensors").unlink()
    chosen, skipped = resumable_checkpoint(tmp_path)
    assert chosen == tmp_path / "checkpoint-20"
    assert len(skipped) == 1
    assert skipped[0].startswith("checkpoint-30 is damaged")
    assert (tmp_path / "checkpoint-30.broken").is_dir()
    assert resumable_checkpoint(tmp_path) == (chosen, [])  # set aside once, then ignored


def test_no_intact_checkpoint_starts_from_zero(tmp_path: Path) -> None:
    _checkpoint(tmp_path, 5, "state")
    assert resumable_checkpoint(tmp_path)[0] is None


FULL = r"the disk is full \(\d+ MB free on .*{where}.*\) while {doing}"


def test_training_on_a_full_disk_fails_cleanly(
        store: Store, data_paths: DataPaths, demo_model_dir: Path,
        lost_writes: Callable[[int], None]) -> None:
    """The run folder's disk fills before the first checkpoint: the checkpoint save fails."""
    populate(store, 24)
    with mounted_small_disk(data_paths.runs, 6):
        run = synthetic_run(store, data_paths, "sft", str(demo_model_dir))
        models_before, labels_before = list_models(store), store.counts()
        _fill(data_paths.runs, leave=96 * 1024)  # room for events and the log, not a save
        done = subprocess.run(launch_command(run.run_dir), cwd=REPO, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=300, check=False)
        last = read_events(run.dir.events)[-1]
        assert done.returncode == 1, done.stderr[-2000:]
        assert last.event == "failed"
        assert re.match(FULL.format(where="runs", doing="saving the run"), last["message"])
        assert not run.dir.adapter.exists()
        assert not list(run.dir.checkpoints.glob("checkpoint-*"))  # the half save is gone
        assert list_models(store) == models_before  # nothing registered
        assert store.counts() == labels_before
        assert get_run(store, run.id).status == "failed"
    lost_writes(0)


@pytest.mark.parametrize("stage", ["merge", "convert"])
def test_export_on_a_disk_that_fills_up_fails_cleanly(
        stage: str, store: Store, data_paths: DataPaths, demo_model_dir: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """Another program fills the disk while the export runs (it passed the pre-check)."""
    adapter_dir = shared_adapter(tmp_path_factory, demo_model_dir)
    base = models.add_base_model(store, demo_model_dir)
    adapter = models.add_adapter(store, adapter_dir, base.id, name="sft-1")
    prepare_converter()
    with mounted_small_disk(data_paths.exports, 40):
        job = create_export_job(data_paths.exports, adapter=adapter_dir, db=data_paths.db,
                                parent_id=adapter.id, quants=["Q8_0"])
        process = spawn("export", job)

        def fill_at_stage(event: Event) -> None:
            if event.get("stage") == stage and not (data_paths.exports / "filler").exists():
                _fill(data_paths.exports, leave=48 * 1024)

        last = follow(job, process, fill_at_stage)
        assert process.wait(timeout=60) == 1
        assert last is not None
        assert last.event == "failed", last.as_dict()
        assert re.match(FULL.format(where="exports", doing="writing the export"),
                        last["message"]), last["message"]
        assert {p.name for p in job.iterdir()} <= {"config.json", "events.jsonl", "export.log",
                                                   "pid"}  # no merged/, no *.partial
    assert [m.id for m in models.list_models(store)] == [base.id, adapter.id]


def test_export_pre_check_says_sizes_a_person_can_read(
        demo_model_dir: Path, small_disk: Path) -> None:
    prepare_converter()
    job = small_disk / "job"
    job.mkdir()
    config = ExportConfig(out_dir=str(job), model=str(demo_model_dir), quants=["F16", "Q8_0"])
    with pytest.raises(NotEnoughSpaceError) as refused:
        run_pipeline(config, EventWriter(None))
    message = str(refused.value)
    assert re.search(r"needs about \d+ MB in .* but only \d+ MB is free", message), message
    assert "0.0" not in message
    assert list(job.iterdir()) == []
