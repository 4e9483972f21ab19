"""Issue 21 section 4: at 1024x700, in both themes, every page fits the window (nothing sets a
wider minimum), no label, button or check box is cut or elided, the Train form does not scroll
sideways, the Models page's names are whole, the charts follow the theme, and the window's
keys (Alt+1 … Alt+5, ?) work on every page and after a dialog closed. Each page is grabbed to
a PNG for a person to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QLabel,
    QWidget,
)
from pytestqt.qtbot import QtBot
from test_ui_support import seed

from studio.db.store import Store
from studio.paths import DataPaths
from studio.registry import models
from ui.context import AppContext
from ui.main_window import PAGES, MainWindow
from ui.theme import apply_theme, colors
from ui.widgets.help_overlay import HelpOverlay

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui-shots"))
SIZE = (1024, 700)
LONG_NAME = "SmolLM2-135M-Instruct + sft-20261207-031500 (round 2, my arithmetic labels)"


@pytest.fixture
def window(data_paths: DataPaths, store: Store, demo_model_dir: Path, demo_gguf: Path,
           tmp_path: Path, qtbot: QtBot) -> MainWindow:
    seed(store, prompts=30, responses=2, tag="arithmetic")
    base = models.add_base_model(store, demo_model_dir, name="SmolLM2-135M-Instruct")
    models.add_gguf(store, demo_gguf, base.id, "F16", name="SmolLM2-135M-Instruct · F16")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    models.add_adapter(store, adapter, base.id, name=LONG_NAME)
    win = MainWindow(AppContext(data_paths, tmp_path / "s.ini"))
    qtbot.addWidget(win)
    win.resize(*SIZE)
    win.show()
    QTest.qWaitForWindowActive(win)
    return win


def cut_widgets(page: QWidget) -> list[str]:
    """Visible labels and buttons narrower than their text needs, or clipped by a parent."""
    found = []
    for widget in page.findChildren(QWidget):
        if not widget.isVisible() or widget.width() <= 0 or widget.window() is not page.window():
            continue
        if isinstance(widget, QLabel) and widget.text():
            if widget.wordWrap():
                short = widget.height() + 1 < widget.heightForWidth(widget.width())
            else:
                short = widget.width() + 1 < widget.sizeHint().width()
        elif isinstance(widget, QAbstractButton) and widget.text():
            short = widget.width() + 1 < widget.sizeHint().width()
        else:
            continue
        shown = widget.visibleRegion().boundingRect()
        clipped = not shown.isEmpty() and shown.width() + 1 < widget.width()
        if short or clipped:
            found.append(f"{type(widget).__name__} {widget.text()[:40]!r}: {widget.width()} px"
                         f" of {widget.sizeHint().width()}" + (" (clipped)" if clipped else ""))
    return found


def _settle(qtbot: QtBot) -> None:
    qtbot.wait(150)  # the store worker's first answers, then one layout pass


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_is_usable_at_1024x700(theme: str, window: MainWindow, qtbot: QtBot,
                                          qapp: QApplication) -> None:
    apply_theme(qapp, theme)
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    for name in PAGES:
        page = window.show_page(name)
        _settle(qtbot)
        assert (window.width(), window.height()) == SIZE, f"{name} sets a larger window"
        window.grab().save(str(SHOTS / f"{theme}-{name.lower()}-1024x700.png"))
        found = cut_widgets(page)
        if found:
            problems[name] = found
    assert not problems, problems

    train = window.pages["Train"]
    assert train.setup.horizontalScrollBar().maximum() == 0  # no sideways scroll ("1ax length")
    assert train.setup.widget().width() <= train.setup.viewport().width()

    models_page = window.pages["Models"]
    qtbot.waitUntil(lambda: len(models_page.tree.roots()) == 1, timeout=5000)
    tree = models_page.tree
    metrics = tree.fontMetrics()
    widest = max(metrics.horizontalAdvance(LONG_NAME), metrics.horizontalAdvance("SmolLM2"))
    assert tree.columnWidth(0) >= widest  # the whole name, not "Nan"

    chart = models_page.rounds.chart.plot  # pyqtgraph's own default is a black background
    assert chart.backgroundBrush().color() == QColor(colors()["panel"])


def test_keys_work_on_every_page_and_after_a_dialog(window: MainWindow, qtbot: QtBot,
                                                    qapp: QApplication) -> None:
    for index in range(1, len(PAGES) + 1):
        assert f"Alt+{index}" in window.nav.item(index - 1).toolTip()  # shown where pages are
    for name in PAGES:
        page = window.show_page(name)
        _settle(qtbot)
        QTest.keyClick(qapp.focusWidget() or window, Qt.Key.Key_Question,
                       Qt.KeyboardModifier.ShiftModifier)
        overlays = [o for o in page.findChildren(HelpOverlay) if o.isVisible()]
        assert overlays, f"? opened no help on {name}"
        help_text = " ".join(label.text() for label in overlays[0].findChildren(QLabel))
        assert "Alt+1" in help_text  # the page keys are listed on every page's help
        assert not cut_widgets(overlays[0]), (name, cut_widgets(overlays[0]))
        SHOTS.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(SHOTS / f"help-{name.lower()}-1024x700.png"))
        QTest.keyClick(overlays[0], Qt.Key.Key_Escape)  # any key closes it
        assert not overlays[0].isVisible()

    dialog = QDialog(window)
    QTimer.singleShot(50, dialog.accept)
    dialog.exec()
    qtbot.wait(50)
    for index, name in enumerate(PAGES, start=1):
        QTest.keyClick(qapp.focusWidget() or window, Qt.Key(Qt.Key.Key_0 + index),
                       Qt.KeyboardModifier.AltModifier)
        assert window.current_page_name() == name, f"Alt+{index} after a dialog closed"
