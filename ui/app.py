"""Start the app: QApplication, theme, data folder, main window, first-start offer."""

from __future__ import annotations

import sys

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from studio.labels.store import Store
from studio.paths import DataPaths, resources_dir
from ui.context import AppContext, default_settings_path
from ui.crash_log import install_crash_log
from ui.dialogs.settings_dialog import theme_choice
from ui.main_window import MainWindow
from ui.theme import follow_system
from ui.wheel_guard import install_wheel_guard


def build_window(data_dir: str | None = None, settings_path: str | None = None) -> MainWindow:
    """The window over a data folder (an existing QApplication is required)."""
    context = AppContext(DataPaths.at(data_dir), settings_path)
    return MainWindow(context)


def offer_first_start(window: MainWindow) -> None:
    """On an empty data folder, offer import, starter prompts or the offline demo."""
    from ui.dialogs.first_start import FirstStartDialog

    def maybe_offer(counts: dict[str, int]) -> None:
        if counts["prompts"] == 0:
            FirstStartDialog(window).open()

    window.context.ops.run(Store.counts, on_success=maybe_offer, owner=window)


def run_app(data_dir: str | None = None) -> int:
    install_crash_log(DataPaths.at(data_dir).logs)  # first: a crash in startup leaves a stack
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Tuning Studio")
    app.setOrganizationName("tuning-studio")
    # Matches the installed .desktop file, so docks group the window under its launcher.
    app.setDesktopFileName("tuning-studio")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "tuning-studio.png")))
    settings = QSettings(str(default_settings_path()), QSettings.Format.IniFormat)
    follow_system(app, theme_choice(settings))  # before the window: pages read its colours
    install_wheel_guard(app)
    window = build_window(data_dir)
    window.show()
    QTimer.singleShot(0, lambda: offer_first_start(window))
    return app.exec()
