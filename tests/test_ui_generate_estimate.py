"""Issue 11 item 10: before generating, the dialog says how long it will take, from the speed
past generate jobs measured on this machine."""

from __future__ import annotations

import json
from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.candidates.estimate import duration_text, measured_speed
from studio.db.store import Store
from studio.paths import DataPaths
from ui.context import AppContext
from ui.dialogs.generate_dialog import GenerateDialog, PromptScope

__all__ = ["context"]


def _past_job(jobs: Path, name: str, model: str, seconds: float, done: int) -> None:
    """A finished generate job's folder as backends.generate leaves it."""
    folder = jobs / name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"model_name": model}))
    lines = [{"v": 1, "t": 1000.0, "event": "progress", "stage": "load", "done": 0,
              "total": done},
             {"v": 1, "t": 1000.0 + seconds, "event": "progress", "stage": "generate",
              "done": done, "total": done}]
    (folder / "events.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_measured_speed_prefers_the_model(tmp_path: Path) -> None:
    _past_job(tmp_path, "a", "smol", 20.0, 10)
    _past_job(tmp_path, "b", "other", 90.0, 10)
    speed = measured_speed(tmp_path, "smol")
    assert speed is not None
    assert (speed.model, speed.seconds_per_candidate) == ("smol", 2.0)
    assert measured_speed(tmp_path / "none") is None
    assert duration_text(3 * 3600 + 600) == "3 h 10 min"


def test_dialog_shows_the_estimate_before_starting(context: AppContext, store: Store,
                                                   data_paths: DataPaths, qtbot: QtBot) -> None:
    ids = [store.add_prompt(f"question {i}") for i in range(100)]
    _past_job(data_paths.root / "jobs", "gen-1", "smol", 30.0, 10)  # 3 s a candidate
    dialog = GenerateDialog(context, [PromptScope("All prompts", lambda _: ids)])
    qtbot.addWidget(dialog)
    dialog.n.setValue(4)
    qtbot.waitUntil(lambda: "about" in dialog.estimate.text(), timeout=5000)
    assert dialog.estimate.text().startswith("400 candidates · about 20 min at 3.0 s")
