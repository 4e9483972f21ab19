"""The queue of training runs has one door: :func:`studio.app.training.advance_queue` (the Train
page and the CLI) over :func:`studio.training.runs.start_next`, which the training process
also calls as it ends. A queued run starts after the one before it ends, whichever way it ends,
with no app open."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import psutil

from backends.lib.train_synthetic import populate, synthetic_run
from studio.app.training import advance_queue
from studio.cli.train import add_train_commands, run_train_command
from studio.db.store import Store
from studio.events import read_events
from studio.jobs.launch import read_pid
from studio.paths import DataPaths
from studio.training.runs import get_run, sync_run
from tests.test_train import wait_for

ROOT = Path(__file__).resolve().parent.parent
# Who may start a queued run: the app's use case, and the training process as it ends (a
# backend may not import studio.app, so it calls the domain function the use case wraps).
STARTERS = {"start_next": {"studio/app/training.py", "backends/lib/train_run_list.py"},
            "claim_next": {"studio/training/runs.py"}}


def _callers(name: str) -> set[str]:
    found = set()
    for package in ("studio", "backends", "ui"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and name in (
                        getattr(node.func, "id", None), getattr(node.func, "attr", None)):
                    found.add(path.relative_to(ROOT).as_posix())
    return found


def test_one_door_for_the_queue() -> None:
    for name, allowed in STARTERS.items():
        assert _callers(name) == allowed, f"{name} is called outside its one place"
    assert {"ui/pages/train_page.py", "studio/cli/train.py"} <= _callers("advance_queue")


def _cli(store: Store, paths: DataPaths, *argv: str) -> int | None:
    parser = argparse.ArgumentParser()
    add_train_commands(parser.add_subparsers(dest="command"))
    return run_train_command(parser.parse_args(list(argv)), store, paths)


def test_the_queue_advances_with_no_app_open(store: Store, data_paths: DataPaths,
                                             demo_model_dir: Path) -> None:
    """A run cancelled from the CLI, then a run finishing by itself: each time the training
    process starts the next queued run; the test itself starts only the first."""
    populate(store, 24)
    model = str(demo_model_dir)
    cancelled = synthetic_run(store, data_paths, "sft", model, max_steps=400, eval_steps=1000,
                              save_steps=1000)
    finishing = synthetic_run(store, data_paths, "sft", model, max_steps=2, eval_steps=1000)
    last = synthetic_run(store, data_paths, "sft", model, max_steps=2, eval_steps=1000)
    first = advance_queue(store, data_paths)
    assert first is not None
    assert first.id == cancelled.id
    wait_for(lambda: any(e.event == "step" for e in read_events(cancelled.dir.events)))
    assert get_run(store, finishing.id).status == "queued"
    assert _cli(store, data_paths, "runs", "--cancel", cancelled.id) == 0
    # From here on nothing but the training processes can start a run: sync_run only reads
    # the folders and records outcomes.
    wait_for(lambda: sync_run(store, last.id).status == "completed", timeout=600)
    runs = {run_id: get_run(store, run_id) for run_id in (cancelled.id, finishing.id, last.id)}
    assert [runs[r].status for r in runs] == ["cancelled", "completed", "completed"]
    # Each started only after the one before it had ended.
    ends = [runs[cancelled.id].finished_at, runs[finishing.id].finished_at]
    starts = [runs[finishing.id].started_at, runs[last.id].started_at]
    assert all(end and start and end <= start for end, start in zip(ends, starts, strict=True))
    for run in runs.values():  # the job's own pid file (run_job's) outlives the run's
        pid = read_pid(run.run_dir)
        wait_for(lambda pid=pid: pid is None or not psutil.pid_exists(pid))
