"""The one job protocol: one launcher, one stop mechanism, stdin closed, absolute paths, and
a run that outlives the terminal that started it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from backends.lib.train_synthetic import populate
from studio.db.store import Store
from studio.events import read_events
from studio.jobs import launch
from studio.paths import DataPaths
from studio.training.runs import get_run, list_runs, sync_run

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("studio", "backends", "ui")
# Where a child process may be created at all: the launcher, the UI's runners, and two tools
# that are not backends (llama.cpp's converter script, the doctor's import probes).
# The launcher and the UI runners start backends; the other three run tools that are not
# backends (llama.cpp's converter, the doctor's probes, pip fetching the starter model's wheel).
PROCESS_MODULES = {"studio/jobs/launch.py", "ui/runners/job_runner.py",
                   "ui/runners/chat_runner.py", "ui/runners/process_runner.py",
                   "backends/lib/export_gguf.py", "studio/system/doctor.py",
                   "studio/registry/starter.py",
                   # the grader worker: a request/response child with a per-answer time limit,
                   # killed with its process group at the limit or on a stop (not a job)
                   "studio/evaluation/graders/sandbox.py"}
TRAIN_SETTINGS = ("--set", "max_steps=6", "--set", "max_length=64", "--set", "eval_steps=3",
                  "--set", "lora_r=8", "--set", "lora_alpha=16")


def source_files() -> Iterator[tuple[str, str]]:
    for folder in SOURCES:
        for path in sorted((REPO / folder).rglob("*.py")):
            yield path.relative_to(REPO).as_posix(), path.read_text(encoding="utf-8")


def test_one_launcher_and_one_stop_mechanism() -> None:
    starts = re.compile(r"subprocess\.Popen\(|QProcess\(|startDetached\(")
    backend_launch = re.compile(r"[\"']-m[\"'],\s*f?[\"']backends")
    for name, text in source_files():
        if starts.search(text):
            assert name in PROCESS_MODULES, f"{name} starts a process outside the launcher"
        if name != "studio/jobs/launch.py":
            assert not backend_launch.search(text), f"{name} builds a backend command line"
        if name.startswith("backends/"):
            assert '"--db"' not in text, f"{name} parses --db: the db goes in the config"
        if name != "backends/lib/jobs.py":
            # SIGALRM (the chat template's render time limit) is a timer, not a way to stop.
            assert not re.search(r"signal\.signal\(\s*signal\.SIG(TERM|INT)", text), \
                f"{name} installs its own stop handler"
        assert "StopRequest" not in text, f"{name} still has the old stop mechanism"


def test_the_launcher_closes_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever our stdin holds (a 'y' for transformers' remote-code prompt), a job reads EOF."""
    probe = ("import sys; from pathlib import Path;"
             " Path(sys.argv[-1], 'stdin.txt').write_text(repr(sys.stdin.read()))")
    monkeypatch.setattr(launch, "job_command",
                        lambda module, job_dir: [sys.executable, "-c", probe, str(job_dir)])
    job = launch.new_job_dir(tmp_path, "probe")
    read_end, write_end = os.pipe()
    os.write(write_end, b"y\n")
    os.close(write_end)
    saved = os.dup(0)
    os.dup2(read_end, 0)
    try:
        process = launch.spawn("probe", job)
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(read_end)
    assert process.wait(timeout=30) == 0
    assert (job / "stdin.txt").read_text() == "''"


@pytest.fixture
def labeled_home(tmp_path: Path) -> Path:
    """A data folder with enough SFT labels, as the CLI (run from tmp_path) sees it."""
    paths = DataPaths.at(tmp_path / "home")
    store = Store.open(paths.db)
    populate(store, 16)
    store.close()
    return paths.root


def wait_for(condition: Callable[[], bool], timeout: float = 180.0) -> None:
    """Poll another process's run folder: there is no signal to wait on."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "studio.cli.main", *args]


def test_killed_foreground_train_finishes_on_its_own(labeled_home: Path, tmp_path: Path,
                                                     demo_model_dir: Path) -> None:
    """kill -9 of ``tuning-studio train`` (given a relative --data-dir): the run finishes,
    writes ``finished``, records its outcome and removes its pid file."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = cli("--data-dir", "home", "train", "--kind", "sft", "--model",
                  str(demo_model_dir), *TRAIN_SETTINGS)
    foreground = subprocess.Popen(command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert foreground.stdout is not None
    seen = []
    for line in foreground.stdout:
        seen.append(line)
        if line.startswith("started on"):  # the backend is past its imports
            break
    assert any(line.startswith("started on") for line in seen), "".join(seen)
    os.kill(foreground.pid, signal.SIGKILL)
    foreground.wait(timeout=10)
    foreground.stdout.close()
    store = Store.open(labeled_home / "studio.db")
    try:
        (run,) = list_runs(store)
        assert run.run_dir.is_absolute()
        assert run.run_dir.is_relative_to(labeled_home)
        pid = run.dir.read_pid()
        wait_for(lambda: sync_run(store, run.id).status != "running")
        assert get_run(store, run.id).status == "completed", run.dir.log.read_text()[-2000:]
        assert read_events(run.dir.events)[-1].event == "finished"
        # The backend removes its pid file on its way out, just after the finished event.
        wait_for(lambda: not run.dir.pid_file.exists(), timeout=30)
        wait_for(lambda: pid is None or not psutil.pid_exists(pid), timeout=30)
    finally:
        store.close()


class StopDuringEval:
    """A stop flag that turns on at its second look: the first is the end of step 1, the
    second is inside the evaluation that follows it (eval_steps=1)."""

    def __init__(self) -> None:
        self.looks = 0

    @property
    def stop(self) -> bool:
        self.looks += 1
        return self.looks >= 2


def test_cancel_interrupts_evaluation_and_keeps_a_checkpoint(
        store: Store, data_paths: DataPaths, demo_model_dir: Path) -> None:
    from backends.lib.train_synthetic import synthetic_run
    from backends.train import train
    from studio.events import EventWriter
    from studio.training.config import TrainConfig

    populate(store, 16)
    run = synthetic_run(store, data_paths, "sft", str(demo_model_dir), eval_fraction=0.5,
                        max_steps=3, eval_steps=1, save_steps=1000)
    flag = StopDuringEval()
    outcome = train(TrainConfig.load(run.dir.config), run.dir, EventWriter(run.dir.events),
                    flag)  # type: ignore[arg-type]
    assert outcome == "cancelled"
    events = read_events(run.dir.events)
    assert "eval" not in [e.event for e in events]  # the evaluation never completed
    cancelled = events[-1]
    assert cancelled.event == "cancelled"
    assert cancelled["step"] == 1
    assert cancelled["checkpoint"].endswith("checkpoint-1")
    assert (Path(cancelled["checkpoint"]) / "trainer_state.json").exists()
