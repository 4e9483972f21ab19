"""Issue 11 item 12: Ctrl+Q quits, asking first while training runs, and saying they go on."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from studio.db.store import Store
from studio.paths import DataPaths
from ui.context import AppContext
from ui.main_window import MainWindow


def _window(data_paths: DataPaths, tmp_path: Path, qtbot: QtBot) -> MainWindow:
    window = MainWindow(AppContext(data_paths, tmp_path / "s.ini"))
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=10_000)  # window shortcuts need it
    return window


def test_ctrl_q_quits_at_once_when_nothing_runs(data_paths: DataPaths, store: Store,
                                                tmp_path: Path, qtbot: QtBot) -> None:
    window = _window(data_paths, tmp_path, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)


def test_ctrl_q_asks_while_a_run_trains(data_paths: DataPaths, store: Store,
                                        tmp_path: Path, qtbot: QtBot) -> None:
    store.db.table("runs").insert({
        "id": "r1", "method": "sft", "status": "running", "config": json.dumps({}),
        "run_dir": str(tmp_path / "r1"), "base_model": "m", "metrics": "{}",
        "created_at": "2026-12-03T11:00:00Z"})
    window = _window(data_paths, tmp_path, qtbot)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.quit_guard.box is not None and window.quit_guard.box.isVisible(),
                    timeout=10_000)
    box = window.quit_guard.box
    assert box is not None
    assert "1 training run(s) running" in box.text()
    assert "goes on in the background" in box.text()
    box.button(QMessageBox.StandardButton.No).click()
    assert window.isVisible()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=10_000)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.quit_guard.box is not None and window.quit_guard.box.isVisible(),
                    timeout=10_000)
    window.quit_guard.box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
