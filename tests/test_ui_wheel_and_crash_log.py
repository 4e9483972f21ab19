"""Issue 11 items 1 and 6: a crash leaves a stack in the app log; the mouse wheel does not
change an unfocused combo or spin box."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QFormLayout, QSpinBox, QWidget
from pytestqt.qtbot import QtBot

from ui.wheel_guard import WheelGuard

ROOT = Path(__file__).resolve().parent.parent


def _wheel(widget: QWidget, steps: int = -1) -> None:
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(),
                        QPoint(0, 120 * steps), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_wheel_changes_combo_and_spin_only_when_focused(qtbot: QtBot, qapp: QApplication) -> None:
    guard = WheelGuard()
    qapp.installEventFilter(guard)
    try:
        form = QWidget()
        qtbot.addWidget(form)
        layout = QFormLayout(form)
        device, steps = QComboBox(), QSpinBox()
        device.addItems(["auto", "cpu", "cuda", "mps"])
        steps.setRange(0, 100)
        steps.setValue(10)
        layout.addRow("Device", device)
        layout.addRow("Steps", steps)
        form.show()
        qtbot.waitExposed(form)
        assert device.focusPolicy() == Qt.FocusPolicy.StrongFocus  # the wheel gives no focus
        _wheel(device)
        _wheel(steps)
        assert (device.currentText(), steps.value()) == ("auto", 10)
        device.setFocus()
        qtbot.waitUntil(device.hasFocus)
        _wheel(device)
        assert device.currentText() == "cpu"
    finally:
        qapp.removeEventFilter(guard)


def test_a_crash_leaves_a_stack_in_the_app_log(tmp_path: Path) -> None:
    code = ("import ctypes, sys; from pathlib import Path; from ui.crash_log import"
            " install_crash_log; install_crash_log(Path(sys.argv[1]));"
            " ctypes.string_at(0)")  # a null read: the segfault the issue saw
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env,
                          capture_output=True, timeout=60, check=False)
    assert done.returncode != 0
    text = (tmp_path / "app.log").read_text(encoding="utf-8")
    assert "Fatal Python error: Segmentation fault" in text
    assert "File \"<string>\"" in text
