"""Issue 11 item 11: the Train page shows live tokens/s and an ETA for the running run, from
its step events; the ETA goes on cancel, and the status follows the run's end at once (not
"running" until a later refresh). The run's process is a stand-in that only holds the pid
(the events are written here, as the training process would), so the timing is exact."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from test_ui_support import context

from backends.lib.train_synthetic import populate, synthetic_run
from studio.db.store import Store
from studio.events import Event, EventWriter
from studio.paths import DataPaths
from studio.training import runs as registry
from studio.training.describe import describe
from ui.context import AppContext
from ui.pages.train_page import TrainPage

__all__ = ["context"]


@pytest.fixture
def running(store: Store, data_paths: DataPaths, demo_model_dir: Path
            ) -> Iterator[tuple[registry.Run, EventWriter]]:
    """A registered run marked running by a live process whose command line names it."""
    populate(store, 12)
    run = synthetic_run(store, data_paths, "sft", str(demo_model_dir))
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", run.id])
    run.dir.write_pid(holder.pid)
    registry.mark_started(store, run.id, holder.pid)
    yield registry.get_run(store, run.id), EventWriter(run.dir.events)
    holder.kill()
    holder.wait()


@pytest.fixture
def page(context: AppContext, qtbot: QtBot, running: tuple[registry.Run, EventWriter]
         ) -> Iterator[TrainPage]:
    widget = TrainPage(context)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.current is not None
                    and widget.current.id == running[0].id, timeout=10_000)
    yield widget
    widget.shutdown()


def _steps(run: registry.Run, steps: range, start: float = 1000.0) -> None:
    """Step events at known times (the writer would stamp them with now)."""
    with run.dir.events.open("a", encoding="utf-8") as out:
        for step in steps:  # 2 s and 200 tokens a step: 100 tokens/s
            out.write(json.dumps({"v": 1, "t": start + 2.0 * step, "event": "step",
                                  "step": step, "max_steps": 10, "loss": 1.0,
                                  "num_input_tokens_seen": 200 * step}) + "\n")


def test_live_tokens_per_second_and_eta(page: TrainPage, qtbot: QtBot,
                                        running: tuple[registry.Run, EventWriter]) -> None:
    run, writer = running
    writer.emit("started", max_steps=10)
    _steps(run, range(1, 5))
    qtbot.waitUntil(lambda: "tokens/s" in page.eta.text(), timeout=5000)
    assert page.eta.text() == "100 tokens/s · ETA 12 s"  # 6 steps left at 2 s
    writer.emit("cancelled", step=4)
    qtbot.waitUntil(lambda: "ETA" not in page.eta.text(), timeout=5000)
    assert page.eta.text() == "cancelled at step 4"
    assert "running" not in page.status.text()
    assert "cancelled" in page.status.text()


def test_status_follows_the_finish_at_once(page: TrainPage, qtbot: QtBot,
                                           running: tuple[registry.Run, EventWriter]) -> None:
    run, writer = running
    writer.emit("started", max_steps=10)
    _steps(run, range(1, 11))
    qtbot.waitUntil(lambda: "running" in page.status.text(), timeout=5000)
    writer.emit("finished", step=10, wall_s=20.0, tokens_per_s=100.0,
                adapter=str(run.dir.adapter), metrics={})
    # The training process updates its row a moment later (it is still alive here): the
    # page says how the run ended from the event itself.
    qtbot.waitUntil(lambda: "running" not in page.status.text(), timeout=5000)
    assert "completed" in page.status.text()
    assert page.eta.text() == "finished · 100 tokens/s · 20 s"


def test_progress_reads_as_its_message_in_the_log() -> None:
    event = Event("progress", 0.0, fields={"stage": "evaluating", "done": 40, "total": 91,
                                           "message": "evaluating 40/91 held-out examples"})
    assert describe(event) == "evaluating 40/91 held-out examples"  # not the raw dict
