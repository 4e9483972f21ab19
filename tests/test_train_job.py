"""``backends.train`` on the one job protocol: it reads its database from config.json's ``db``
(not from where the run folder lies); a run folder written before that field falls back to its
position and says so; one whose database is not on this machine trains without a run list.

Each run here fails fast at the preflight (an emptied snapshot), through ``run_job``: the one
``failed`` event, the traceback in ``train.log``, and the outcome in the run list."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from backends.lib.train_synthetic import populate, synthetic_run
from studio.db.store import Store
from studio.events import read_events
from studio.paths import DataPaths
from studio.training.bundle import write_bundle
from studio.training.config import TrainConfig
from studio.training.runs import Run, RunDir, get_run, launch_command

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def broken_run(store: Store, data_paths: DataPaths, tmp_path: Path) -> Run:
    """A queued KTO run whose frozen snapshot is empty: the child fails at its preflight."""
    populate(store, 12)
    model = tmp_path / "model"  # the preflight fails on the data before it loads a model
    model.mkdir()
    (model / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    run = synthetic_run(store, data_paths, "kto", str(model))
    (run.dir.snapshot / "train.jsonl").write_text("", encoding="utf-8")
    return run


def _train(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(launch_command(folder), cwd=REPO, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300, check=False)


def _edit_config(folder: Path, **values: object) -> None:
    path = folder / "config.json"
    data = {**json.loads(path.read_text()), **values}
    path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))


def test_the_database_comes_from_config_json(broken_run: Run, store: Store,
                                             data_paths: DataPaths, tmp_path: Path) -> None:
    assert TrainConfig.load(broken_run.dir.config).db == str(data_paths.db.resolve())
    # Moved out of <data>/runs/: the old rule (the folder's position) would find no database.
    moved = RunDir(tmp_path / "elsewhere" / broken_run.id)
    shutil.move(broken_run.run_dir, moved.path)
    result = _train(moved.path)
    assert result.returncode == 1, result.stderr[-2000:]
    failed = read_events(moved.events)[-1]
    assert failed.event == "failed"
    assert "no KTO training examples" in failed["message"]
    assert "Traceback" not in failed["message"]
    assert "Traceback" in moved.log.read_text()  # run_job's report, in the run's own log
    row = get_run(store, broken_run.id)
    assert (row.status, row.error) == ("failed", failed["message"])
    assert not moved.pid_file.exists()


def test_a_run_folder_from_before_the_field_falls_back_to_its_position(
        broken_run: Run, store: Store) -> None:
    _edit_config(broken_run.run_dir, db=None)
    result = _train(broken_run.run_dir)
    assert result.returncode == 1, result.stderr[-2000:]
    assert get_run(store, broken_run.id).status == "failed"
    log = broken_run.dir.log.read_text()
    assert "a run folder written before the field existed" in log
    assert "found from the run folder's position" in log


def test_a_database_that_is_not_here_is_never_created(broken_run: Run, store: Store,
                                                      tmp_path: Path) -> None:
    elsewhere = tmp_path / "other-machine" / "studio.db"
    _edit_config(broken_run.run_dir, db=str(elsewhere))
    result = _train(broken_run.run_dir)
    assert result.returncode == 1, result.stderr[-2000:]
    assert read_events(broken_run.dir.events)[-1].event == "failed"
    assert not elsewhere.exists()
    assert not elsewhere.parent.exists()
    assert get_run(store, broken_run.id).status == "queued"  # untouched: not its database
    assert "which is not on this machine" in broken_run.dir.log.read_text()


def test_a_bundle_carries_no_database(broken_run: Run, store: Store, tmp_path: Path) -> None:
    bundle = write_bundle(store, broken_run.id, tmp_path / "bundle")
    assert TrainConfig.load(bundle / "run" / "config.json").db == ""
