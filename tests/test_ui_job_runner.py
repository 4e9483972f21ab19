"""The UI's one JobRunner on tiny probe jobs: the event stream, stdin closed, the crash tail,
and kill after the grace period."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from studio.events import encode
from studio.jobs import launch
from ui.runners import job_runner
from ui.runners.job_runner import JobRunner

FINISHED_LINE = encode("finished", done=1)


def probe(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """Make the runner start ``python -c code JOB_DIR`` instead of a backend module."""
    monkeypatch.setattr(job_runner, "job_command",
                        lambda module, job_dir: [sys.executable, "-c", code, str(job_dir)])


def test_events_come_from_the_file_and_stdin_is_closed(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probe(monkeypatch, "import sys; from pathlib import Path; job = Path(sys.argv[-1]);"
          " (job / 'stdin.txt').write_text(repr(sys.stdin.read()));"
          f" (job / 'events.jsonl').write_text({FINISHED_LINE!r})")
    runner = JobRunner("probe")
    job = launch.new_job_dir(tmp_path, "probe")
    with qtbot.waitSignal(runner.finished, timeout=20_000) as finished:
        runner.start(job)
    assert finished.args[0].get("done") == 1
    assert (job / "stdin.txt").read_text() == "''"


def test_a_crash_fails_with_the_tail_of_its_log(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probe(monkeypatch, "import sys; sys.stderr.write('the real reason\\n'); sys.exit(3)")
    runner = JobRunner("probe")
    with qtbot.waitSignal(runner.failed, timeout=20_000) as failed:
        runner.start(launch.new_job_dir(tmp_path, "probe"))
    assert "exited with code 3" in failed.args[0]
    assert "the real reason" in failed.args[0]


def test_a_job_that_ignores_stop_is_killed_after_the_grace(
        qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probe(monkeypatch, "import signal, sys, time; from pathlib import Path;"
          " signal.signal(signal.SIGTERM, signal.SIG_IGN);"
          " (Path(sys.argv[-1]) / 'ready').write_text('1'); time.sleep(60)")
    runner = JobRunner("probe", grace_ms=300)
    job = launch.new_job_dir(tmp_path, "probe")
    runner.start(job)
    qtbot.waitUntil(lambda: (job / "ready").exists(), timeout=20_000)
    with qtbot.waitSignal(runner.cancelled, timeout=20_000) as cancelled:
        runner.cancel()
    assert cancelled.args[0] is None  # killed: no event of its own
    assert launch.stop_requested(job)
