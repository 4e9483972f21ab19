"""The first start dialog builds the offline demo model as a job through the one runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from studio.db.store import Store
from studio.paths import DataPaths
from studio.registry.models import list_models
from ui.context import AppContext
from ui.dialogs.first_start import DEMO_MARKER, FirstStartDialog
from ui.main_window import MainWindow


@pytest.mark.heavy  # builds the demo model in a child process
def test_demo_builds_through_the_job_runner(data_paths: DataPaths, store: Store,
                                            tmp_path: Path, qtbot: QtBot) -> None:
    window = MainWindow(AppContext(data_paths, tmp_path / "s.ini"))
    qtbot.addWidget(window)
    dialog = FirstStartDialog(window)
    with qtbot.waitSignal(dialog.runner.ended, timeout=180_000):
        dialog.demo()
        assert dialog.runner.running
    assert (data_paths.models / "demo" / DEMO_MARKER).is_file()
    qtbot.waitUntil(lambda: any(m.name.startswith("demo") for m in list_models(store, "base")),
                    timeout=10_000)
    job = dialog.runner.job_dir
    assert job is not None
    assert (job / "config.json").is_file()
    window.close()
