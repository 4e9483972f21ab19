"""The main window: pages, status bar, remembered page and geometry, clean shutdown."""

from __future__ import annotations

import threading
from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import seed

from studio.db.store import Store
from studio.paths import DataPaths
from ui.context import AppContext
from ui.main_window import PAGES, MainWindow
from ui.widgets.empty_state import EmptyStateWidget


def _window(data_paths: DataPaths, settings: Path, qtbot: QtBot) -> MainWindow:
    window = MainWindow(AppContext(data_paths, settings))
    qtbot.addWidget(window)
    window.show()
    return window


def test_every_page_opens_and_empty_states_explain_themselves(
        data_paths: DataPaths, store: Store, tmp_path: Path, qtbot: QtBot) -> None:
    window = _window(data_paths, tmp_path / "s.ini", qtbot)
    for name in PAGES:
        page = window.show_page(name)
        assert window.stack.currentWidget() is page
        assert window.current_page_name() == name
    for name in ("Train", "Models", "Compare"):
        empty = window.pages[name].findChild(EmptyStateWidget)
        if empty is not None:  # an empty page says what will be there and what to do
            assert len(empty.text.text()) > 40
    window.close()


def test_status_bar_shows_folder_and_counts(data_paths: DataPaths, store: Store,
                                            tmp_path: Path, qtbot: QtBot) -> None:
    seed(store, prompts=2, responses=1)
    window = _window(data_paths, tmp_path / "s.ini", qtbot)
    assert str(data_paths.root) in window.folder_label.text()
    qtbot.waitUntil(lambda: "2 prompts" in window.counts_label.text(), timeout=5000)
    window.close()


def test_page_and_geometry_are_remembered(data_paths: DataPaths, store: Store,
                                          tmp_path: Path, qtbot: QtBot) -> None:
    settings = tmp_path / "s.ini"
    window = _window(data_paths, settings, qtbot)
    window.show_page("Data")
    window.resize(1200, 760)
    size = (window.width(), window.height())
    window.close()
    again = _window(data_paths, settings, qtbot)
    assert again.current_page_name() == "Data"
    assert (again.width(), again.height()) == size
    again.close()


def test_closing_stops_the_store_worker(data_paths: DataPaths, store: Store, tmp_path: Path,
                                        qtbot: QtBot) -> None:
    window = _window(data_paths, tmp_path / "s.ini", qtbot)
    window.show_page("Data")
    assert any(t.name == "store-worker" for t in threading.enumerate())
    window.close()
    assert not window.context.ops._thread.is_alive()


def test_alt_number_switches_pages(data_paths: DataPaths, store: Store, tmp_path: Path,
                                   qtbot: QtBot) -> None:
    window = _window(data_paths, tmp_path / "s.ini", qtbot)
    window.show_page("Label")
    window.nav.setCurrentRow(0)
    assert window.current_page_name() == "Data"
    window.close()
