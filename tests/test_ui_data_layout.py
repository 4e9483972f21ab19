"""Issue 11 item 7: the Data page's Prompt column is readable at 1280x800 and 1920x1080."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from test_ui_support import seed

from studio.db.store import Store
from studio.paths import DataPaths
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.theme import apply_theme

SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui-shots"))


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_prompt_column_is_readable(size: tuple[int, int], data_paths: DataPaths, store: Store,
                                   tmp_path: Path, qtbot: QtBot, qapp: QApplication) -> None:
    apply_theme(qapp, "light")  # the app's style sheet: its padding takes room too
    seed(store, prompts=12, responses=2)
    window = MainWindow(AppContext(data_paths, tmp_path / "s.ini"))
    qtbot.addWidget(window)
    window.resize(*size)
    window.show()
    page = window.show_page("Data")
    qtbot.waitUntil(lambda: page.model.rowCount() == 12, timeout=10_000)
    qtbot.wait(50)  # one layout pass at the final size
    prompt = page.table.columnWidth(1)
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(SHOTS / f"data-page-{size[0]}x{size[1]}.png"))
    # At least 20 average characters (it showed four: "Writ…"), and the widest column.
    chars = prompt / page.table.fontMetrics().averageCharWidth()
    assert chars >= 20, (prompt, chars)
    assert prompt == max(page.table.columnWidth(c) for c in range(page.model.columnCount()))
    window.close()
