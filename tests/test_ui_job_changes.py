"""Issue 12: job runners declare what their job changes and announce it when it ends; nothing
else in the UI calls ``announce()`` by hand."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.events import encode
from studio.jobs import launch
from ui.changes import Changes
from ui.context import AppContext
from ui.runners import job_runner
from ui.runners.job_runner import OUTCOMES, JobRunner

__all__ = ["context"]
ROOT = Path(__file__).resolve().parent.parent
# The context defines it; the ops helper and the job runner announce declared changes.
MAY_ANNOUNCE = {"ui/context.py", "ui/ops.py", "ui/runners/job_runner.py"}


def probe(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    monkeypatch.setattr(job_runner, "job_command",
                        lambda module, job_dir: [sys.executable, "-c", code, str(job_dir)])


def write_event(line: str) -> str:
    return ("import sys; from pathlib import Path;"
            f" (Path(sys.argv[-1]) / 'events.jsonl').write_text({line!r})")


def test_a_finished_job_announces_its_declared_changes(
        qtbot: QtBot, context: AppContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    probe(monkeypatch, write_event(encode("finished", done=1)))
    order: list[str] = []
    runner = JobRunner("probe", context=context, changes=Changes(models=True))
    runner.finished.connect(lambda _event: order.append("finished"))
    context.changed.connect(lambda changes: order.append(f"models={changes.models}"))
    with qtbot.waitSignal(runner.ended, timeout=20_000):
        runner.start(launch.new_job_dir(tmp_path, "probe"))
    assert order == ["finished", "models=True"]  # after the page's own handler


def test_a_failed_job_announces_only_when_asked(
        qtbot: QtBot, context: AppContext, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    probe(monkeypatch, write_event(encode("failed", message="no")))
    seen: list[Changes] = []
    context.changed.connect(seen.append)
    quiet = JobRunner("probe", context=context, changes=Changes(models=True))
    with qtbot.waitSignal(quiet.ended, timeout=20_000):
        quiet.start(launch.new_job_dir(tmp_path, "probe"))
    assert seen == []
    # A generation keeps the candidates stored before it failed: it asks for every outcome,
    # with changes computed when the job ends.
    kept = JobRunner("probe", context=context, announce_on=OUTCOMES,
                     changes=lambda: Changes(responses=True, prompt_ids=frozenset({3})))
    with qtbot.waitSignal(kept.ended, timeout=20_000):
        kept.start(launch.new_job_dir(tmp_path, "probe"))
    assert [(c.responses, c.prompt_ids) for c in seen] == [(True, frozenset({3}))]


def test_declared_changes_need_a_context() -> None:
    with pytest.raises(ValueError, match="context"):
        JobRunner("probe", changes=Changes(models=True))


def test_announce_is_called_only_by_the_context_the_ops_helper_and_the_job_runner() -> None:
    callers = set()
    for path in sorted((ROOT / "ui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else \
                    func.id if isinstance(func, ast.Name) else ""
                if name == "announce":
                    callers.add(path.relative_to(ROOT).as_posix())
    assert callers <= MAY_ANNOUNCE, f"hand-written announce() in {callers - MAY_ANNOUNCE}"
