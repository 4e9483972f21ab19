"""The window's own keys: Alt+1 … Alt+5 open the pages and ``?`` shows the keyboard help on
every page (the Label page's own help, elsewhere the page's keys plus these).

Alt+N is an application shortcut (it works from the window's non-modal dialogs too; a modal
one still blocks it). Any shortcut needs an active window, and when a dialog closed the window
manager did not always give the activation back to the main window: the keys stopped working
until a click. So when a dialog hides and no window is active, the main window takes it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QDialog, QListWidget, QMainWindow, QWidget

from ui.widgets.help_overlay import WINDOW_SECTION, HelpOverlay, Section

# Keys that only one page has, for its help (the Label page keeps its own overlay).
PAGE_SECTIONS: dict[str, list[Section]] = {
    "Compare": [("Compare", [("1 / 2", "A / B is better (message box not focused)"),
                             ("T", "tie"), ("X", "both bad"), ("Ctrl+Enter", "send")])],
    "Models": [("Models", [("F2", "rename the selected model")])],
}


class WindowKeys(QObject):
    def __init__(self, window: QMainWindow, names: Sequence[str], nav: QListWidget,
                 show_page: Callable[[str], QWidget], current: Callable[[], QWidget]) -> None:
        super().__init__(window)
        self.window, self.current = window, current
        self.overlays: dict[int, HelpOverlay] = {}  # per page widget, made when first asked
        self.page_keys: list[QShortcut] = []
        for index, name in enumerate(names, start=1):
            shortcut = QShortcut(QKeySequence(f"Alt+{index}"), window)
            shortcut.setContext(Qt.ShortcutContext.ApplicationShortcut)
            shortcut.activated.connect(lambda n=name: show_page(n))
            self.page_keys.append(shortcut)
            item = nav.item(index - 1)
            if item is not None:  # shown where the pages are chosen
                item.setToolTip(f"{name} (Alt+{index})")
        self.help_key = QShortcut(window)
        # "?" arrives as Shift+? on most keyboards, and as plain "?" where the platform maps it.
        self.help_key.setKeys([QKeySequence("?"), QKeySequence("Shift+?")])
        self.help_key.activated.connect(self.show_help)
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A dialog closed: give the window its activation back if nobody took it."""
        if event.type() == QEvent.Type.Hide and isinstance(watched, QDialog):
            QTimer.singleShot(0, self, self._reactivate)
        return False

    def _reactivate(self) -> None:
        if QApplication.activeWindow() is None and QApplication.activeModalWidget() is None \
                and self.window.isVisible():
            self.window.activateWindow()

    def show_help(self) -> None:
        page = self.current()
        own = getattr(page, "help", None)
        if isinstance(own, HelpOverlay):
            own.open()
            return
        overlay = self.overlays.get(id(page))
        if overlay is None:
            sections = [*PAGE_SECTIONS.get(page.objectName().removesuffix("Page"), []),
                        WINDOW_SECTION]
            overlay = HelpOverlay(sections, page)
            self.overlays[id(page)] = overlay
        overlay.open()
