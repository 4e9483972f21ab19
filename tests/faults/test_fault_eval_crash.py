"""Family: an eval run that dies says why. A job that runs out of disk cannot write its log or
its last event, so the failure path writes each thing it still can, and the crash report of
the parent (CLI, liveness check) measures the free space itself instead of pointing at an
empty log."""

from __future__ import annotations

import argparse
import errno
import json
import signal
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from small_disk import fill_disk

from backends.lib.jobs import run_job
from studio.db.store import Store
from studio.evaluation.auto import EvalRunError, follow_job, store_db
from studio.evaluation.evalsets import create_eval_set
from studio.evaluation.jobs import EvalConfig, attach_run, get_eval_run, start_run, sync_eval_run
from studio.events import EventWriter, read_events
from studio.jobs.launch import write_job
from studio.paths import DataPaths


def _eval_set(store: Store, tmp_path: Path) -> int:
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"question": "2+2?", "answer": "4"}) + "\n")
    return create_eval_set(store, "sums", "numeric", from_file=path).id


@pytest.fixture
def keep_signals() -> Iterator[None]:
    """run_job installs the job's SIGTERM/SIGINT handlers; put pytest's back afterwards."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def test_eval_job_on_a_full_disk_names_the_disk(small_disk: Path, tmp_path: Path) -> None:
    paths = DataPaths.at(small_disk / "data")
    store = Store.open(paths.db)
    try:
        _eval_set(store, tmp_path)
        config = EvalConfig(db=store_db(store), set_name="sums", model_id="base-none",
                            model_path=str(tmp_path / "no-model"), engine="transformers")
        job_dir = write_job(config, paths.root / "jobs", "eval")
        filler = fill_disk(small_disk, leave=0)
        with pytest.raises(EvalRunError) as caught:
            follow_job(store, job_dir, config, lambda event: None)
        filler.unlink()
    finally:
        store.close()
    message = str(caught.value)
    assert "MB free" in message
    assert "ran out of space" in message
    assert str(job_dir) in message


@pytest.mark.usefixtures("keep_signals")
@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device"),
                                   sqlite3.OperationalError("database or disk is full")])
def test_a_disk_full_failure_says_so_with_the_space_left(tmp_path: Path,
                                                         error: Exception) -> None:
    job_dir = tmp_path / "job"
    job_dir.mkdir()

    def work(job: Path, events: EventWriter, flag: object) -> None:
        raise error

    assert run_job(argparse.Namespace(job_dir=job_dir), "eval", work) == 1
    failed = read_events(job_dir / "events.jsonl")[-1]
    assert failed.event == "failed"
    assert "the disk is full (" in failed["message"]
    assert "MB free" in failed["message"]


@pytest.mark.usefixtures("keep_signals")
def test_an_unwritable_log_does_not_cost_the_failed_event(tmp_path: Path) -> None:
    job_dir = tmp_path / "job"
    (job_dir / "eval.log").mkdir(parents=True)  # the log cannot be appended to

    def work(job: Path, events: EventWriter, flag: object) -> None:
        raise RuntimeError("the model file is damaged")

    assert run_job(argparse.Namespace(job_dir=job_dir), "eval", work) == 1
    failed = read_events(job_dir / "events.jsonl")[-1]
    assert (failed.event, failed["message"]) == ("failed", "the model file is damaged")


def test_liveness_check_of_a_silent_crash_reports_a_full_disk(
        store: Store, data_paths: DataPaths, small_disk: Path, tmp_path: Path) -> None:
    set_id = _eval_set(store, tmp_path)
    run_id = start_run(store, set_id, "base-none")
    job_dir = small_disk / "eval-job"
    job_dir.mkdir()
    (job_dir / "eval.log").touch()
    attach_run(store, run_id, "transformers", job_dir)
    filler = fill_disk(small_disk, leave=0)
    run = sync_eval_run(store, run_id)  # no process, no event, an empty log
    filler.unlink()
    assert run.status == "failed"
    assert "stopped without reporting" in (run.error or "")
    assert "MB free" in (run.error or "")
    assert get_eval_run(store, run_id).error == run.error


def test_a_crash_with_room_on_the_disk_does_not_blame_the_disk(
        store: Store, tmp_path: Path) -> None:
    set_id = _eval_set(store, tmp_path)
    run_id = start_run(store, set_id, "base-none")
    job_dir = tmp_path / "eval-job"
    job_dir.mkdir()
    (job_dir / "eval.log").write_text("Segmentation fault (core dumped)\n")
    attach_run(store, run_id, "transformers", job_dir)
    run = sync_eval_run(store, run_id)
    assert "Segmentation fault" in (run.error or "")
    assert "ran out of space" not in (run.error or "")


def test_the_apps_job_runner_names_a_full_disk(qtbot, small_disk: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The Eval page runs the same job through the UI's JobRunner: same report."""
    from studio.jobs import launch
    from ui.runners import job_runner

    monkeypatch.setattr(job_runner, "job_command", lambda module, job_dir: [
        sys.executable, "-c", "import sys; sys.exit(1)", str(job_dir)])
    job = launch.new_job_dir(small_disk / "jobs", "eval")
    filler = fill_disk(small_disk, leave=0)
    runner = job_runner.JobRunner("eval")
    with qtbot.waitSignal(runner.failed, timeout=20_000) as failed:
        runner.start(job)
    filler.unlink()
    assert "MB free" in failed.args[0]
