"""Start the app: QApplication, theme, data folder, main window, first-start offer."""

from __future__ import annotations

import sys

from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from studio.db.store import Store
from studio.paths import DataPaths, resources_dir
from ui.context import AppContext, default_settings_path
from ui.crash_log import install_crash_log
from ui.dialogs.settings_dialog import theme_choice
from ui.main_window import MainWindow
from ui.theme import follow_system
from ui.wheel_guard import install_wheel_guard

# At the latest this long after it was built, the window's store work runs even if the window
# never painted (started hidden or minimized).
RELEASE_LATEST_MS = 3000


class StoreWorkAfterPaint(QObject):
    """Releases a held store worker once the window has painted for the first time.

    Building the window queues the first page's queries; run while the window is still being
    built, they (and opening the store) would share two cores with it. Held, the window
    paints first, then they run.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.ops = window.context.ops
        window.installEventFilter(self)
        QTimer.singleShot(RELEASE_LATEST_MS, self, self.ops.release)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self.ops.release)  # after this paint reaches the screen
        return False


def build_window(data_dir: str | None = None, settings_path: str | None = None,
                 defer_store_work: bool = False) -> MainWindow:
    """The window over a data folder (an existing QApplication is required). With
    ``defer_store_work``, store queries wait until the window has painted once."""
    context = AppContext(DataPaths.at(data_dir), settings_path,
                         hold_store_work=defer_store_work)
    window = MainWindow(context)
    if defer_store_work:
        StoreWorkAfterPaint(window)
    return window


def offer_first_start(window: MainWindow) -> None:
    """On an empty data folder, offer import, starter prompts or the offline demo."""

    def maybe_offer(counts: dict[str, int]) -> None:
        if counts["prompts"] == 0:
            from ui.dialogs.first_start import FirstStartDialog  # only an empty folder needs it

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
    window = build_window(data_dir, defer_store_work=True)
    window.show()
    QTimer.singleShot(0, lambda: offer_first_start(window))
    return app.exec()
