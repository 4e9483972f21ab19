"""Run bundles for real: written, trained by 2 CPU processes (torchrun and accelerate, gloo),
and imported back as a run with its adapter under the right base model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backends.lib.train_synthetic import populate, synthetic_run
from studio.db.store import Store
from studio.events import read_events
from studio.paths import DataPaths
from studio.registry.models import list_models
from studio.training.bundle import BundleError, write_bundle
from studio.training.bundle_import import import_bundle
from studio.training.bundle_prepare import prepare_bundle_run
from studio.training.runs import Run, get_run, launch_command

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def queued_run(store: Store, data_paths: DataPaths, demo_model_dir: Path) -> Run:
    populate(store, 24)
    # Global batch 8 either way: one process x 8, or two processes x 4.
    return synthetic_run(store, data_paths, "sft", str(demo_model_dir), max_steps=6,
                         eval_steps=3, batch_size=4, logging_steps=1)


def _launch(script: Path, processes: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CPU": "1", "NUM_PROCESSES": str(processes),
           "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": "",
           "MASTER_PORT": str(29500 + os.getpid() % 1000)}
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL, check=False)


def _losses(events_file: Path) -> list[float]:
    return [float(e.get("loss")) for e in read_events(events_file) if e.event == "step"]


def test_bundle_holds_everything_to_run_elsewhere(queued_run: Run, store: Store,
                                                  tmp_path: Path) -> None:
    out = write_bundle(store, queued_run.id, tmp_path / "bundle")
    info = json.loads((out / "bundle.json").read_text())
    assert info["run_id"] == queued_run.id
    assert info["parent_model_id"]
    assert "copy the model folder" in info["model_note"]
    for name in ("launch_accelerate.sh", "launch_torchrun.sh", "slurm.sbatch", "skypilot.yaml",
                 "accelerate/ddp.yaml", "accelerate/fsdp.yaml", "accelerate/cpu.yaml",
                 "run/config.json", "run/snapshot/train.jsonl", "src/backends/train.py",
                 "src/studio/training/config.py", "requirements.txt", "README.md"):
        assert (out / name).is_file(), name
    requirements = (out / "requirements.txt").read_text()
    assert "trl==" in requirements
    assert "torch==" in requirements
    for script in ("launch_accelerate.sh", "launch_torchrun.sh", "slurm.sbatch"):
        subprocess.run(["bash", "-n", str(out / script)], check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", "-S", "warning", str(out / "launch_accelerate.sh"),
                        str(out / "launch_torchrun.sh")], check=True)
    with pytest.raises(BundleError, match="not empty"):
        write_bundle(store, queued_run.id, out)


def test_two_process_bundle_trains_imports_and_matches_one_process(
        queued_run: Run, store: Store, data_paths: DataPaths, tmp_path: Path) -> None:
    bundles = {name: write_bundle(store, queued_run.id, tmp_path / name)
               for name in ("torchrun", "accelerate")}
    for name, out in bundles.items():
        result = _launch(out / f"launch_{name}.sh", 2)
        assert result.returncode == 0, result.stderr[-3000:]
        assert (out / "run" / "train.rank1.log").exists(), "the second process never ran"
        assert read_events(out / "run" / "events.jsonl")[-1].event == "finished"

    # The same run in one process with the same global batch (8): its loss curve.
    config = json.loads(queued_run.dir.config.read_text())
    queued_run.dir.config.write_text(json.dumps({**config, "batch_size": 8}))
    single = subprocess.run(launch_command(queued_run.run_dir), cwd=REPO,
                            stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=300, check=False)
    assert single.returncode == 0, single.stderr[-3000:]
    reference = _losses(queued_run.dir.events)
    for out in bundles.values():
        losses = _losses(out / "run" / "events.jsonl")
        assert len(losses) == len(reference) == 6
        # Within noise: the shards differ in order, not in what is learned.
        assert abs(sum(losses) / 6 - sum(reference) / 6) < 0.05, (losses, reference)

    imported = import_bundle(store, data_paths, bundles["torchrun"])
    assert imported.status == "completed"
    assert get_run(store, imported.id).dir.events.exists()
    adapters = [m for m in list_models(store) if m.run_id == imported.id]
    assert len(adapters) == 1
    assert adapters[0].parent_id == queued_run.parent_model_id

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(config["model"])
    PeftModel.from_pretrained(base, adapters[0].path)  # the adapter loads


def test_partial_bundle_imports_as_cancelled(queued_run: Run, store: Store,
                                             data_paths: DataPaths, tmp_path: Path) -> None:
    out = write_bundle(store, queued_run.id, tmp_path / "partial")
    (out / "run" / "events.jsonl").write_text(
        '{"v": 1, "t": 1.0, "event": "started", "max_steps": 6}\n'
        '{"v": 1, "t": 2.0, "event": "step", "step": 1, "max_steps": 6, "loss": 2.5}\n')
    run = import_bundle(store, data_paths, out)
    assert run.status == "cancelled"
    assert not [m for m in list_models(store) if m.run_id == run.id]


def test_import_refuses_what_is_not_a_bundle(store: Store, data_paths: DataPaths,
                                             tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"no bundle\.json"):
        import_bundle(store, data_paths, tmp_path)
    (tmp_path / "bundle.json").write_text("{oops")
    with pytest.raises(BundleError, match="line 1: not valid JSON"):
        import_bundle(store, data_paths, tmp_path)


def test_prepare_is_a_job_that_points_the_run_here_or_refuses(
        queued_run: Run, store: Store, demo_model_dir: Path, tmp_path: Path) -> None:
    out = write_bundle(store, queued_run.id, tmp_path / "bundle")
    with pytest.raises(BundleError, match=r"config\.json, field 'model': /nowhere/model is not"):
        prepare_bundle_run(out / "run", "/nowhere/model")
    prepare_bundle_run(out / "run", str(demo_model_dir))
    config = json.loads((out / "run" / "config.json").read_text())
    assert config["snapshot_dir"] == str(out / "run" / "snapshot")
    assert config["model"] == str(demo_model_dir.resolve())
    jobs = (out / "jobs").iterdir()  # each try is a job folder with its events
    assert sorted(read_events(job / "events.jsonl")[-1].event for job in jobs) == [
        "failed", "finished"]
