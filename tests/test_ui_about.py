"""The About dialog runs the real installation check in a child process and copies it."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot
from test_ui_support import context

from ui.context import AppContext
from ui.dialogs.about_dialog import AboutDialog

__all__ = ["context"]
SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui-shots"))


def test_about_shows_the_doctor_report_and_copies_it(context: AppContext, qtbot: QtBot) -> None:
    dialog = AboutDialog(context)
    qtbot.addWidget(dialog)
    dialog.show()
    assert "Checking" in dialog.report.toPlainText()  # the UI is not blocked meanwhile
    with qtbot.waitSignal(dialog.runner.finished, timeout=120_000):
        pass
    qtbot.waitUntil(dialog.copy_button.isEnabled, timeout=5000)
    names = [check.name for check in dialog.checks]
    assert "Python" in names
    assert len(names) >= 5
    assert "Python" in dialog.report.toPlainText()
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SHOTS / "about.png"))
    dialog.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert copied.startswith("Tuning Studio")
    assert "Python" in copied
    dialog.reject()
