"""The main window: a navigation sidebar, the pages, and a status bar.

Pages are built lazily, the first time they are shown, as ``PageClass(context)``, and their
modules are imported only then: the window shows before the pages it does not show (and
pyqtgraph, numpy and the rest they need) are loaded. To plug in a page, change its line in
``PAGES`` ("module.Class"). :meth:`MainWindow.page` gives a page, building it if need be.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.db.store import Store
from ui.context import AppContext, Changes
from ui.quit_guard import QuitGuard
from ui.window_keys import WindowKeys

# The sidebar's order, which is also Alt+1..5. Imported when first opened (see page_class).
PAGES: dict[str, str] = {
    "Data": "ui.pages.data_page.DataPage",
    "Label": "ui.pages.label_page.LabelPage",
    "Train": "ui.pages.train_page.TrainPage",
    "Models": "ui.pages.models_page.ModelsPage",
    "Compare": "ui.pages.compare_page.ComparePage",
}
FIRST_PAGE = "Label"


def page_class(name: str) -> type[QWidget]:
    """The class of the page called ``name``, importing its module now."""
    module, _, cls = PAGES[name].rpartition(".")
    page: type[QWidget] = getattr(importlib.import_module(module), cls)
    return page


class MainWindow(QMainWindow):
    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Tuning Studio")
        self.pages: dict[str, QWidget] = {}
        self.stack = QStackedWidget()
        self.nav = QListWidget()
        self.nav.addItems(list(PAGES))
        self.nav.currentTextChanged.connect(self.show_page)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._sidebar())
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._status_bar()
        self._shortcuts()
        context.changed.connect(self._on_changed)
        context.annotator_changed.connect(self._show_annotator)
        self._restore()
        self.refresh_counts()
        self._remove_leftovers()

    # ---- pages -------------------------------------------------------------------------
    def page(self, name: str) -> QWidget:
        """The page called ``name``, built (not shown) the first time it is asked for."""
        if name not in self.pages:
            page = page_class(name)(self.context)
            page.setObjectName(f"{name}Page")
            self.pages[name] = page
            self.stack.addWidget(page)
        return self.pages[name]

    def show_page(self, name: str) -> QWidget:
        page = self.page(name)
        self.stack.setCurrentWidget(page)
        if self.nav.currentItem() is None or self.nav.currentItem().text() != name:
            self.nav.setCurrentRow(list(PAGES).index(name))
        self.context.settings.setValue("window/page", name)
        page.setFocus()
        return page

    def current_page_name(self) -> str:
        item = self.nav.currentItem()
        return item.text() if item is not None else ""

    # ---- layout ------------------------------------------------------------------------
    def _sidebar(self) -> QWidget:
        sidebar = QWidget(objectName="Sidebar")
        sidebar.setFixedWidth(180)
        column = QVBoxLayout(sidebar)
        column.setContentsMargins(0, 0, 0, 8)
        column.addWidget(QLabel("Tuning Studio", objectName="AppTitle"))
        self.nav.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        column.addWidget(self.nav, 1)
        self.annotator_label = QLabel(objectName="SidebarFoot")
        self.annotator_label.setWordWrap(True)
        column.addWidget(self.annotator_label)
        settings = QPushButton("Settings…")
        settings.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        settings.clicked.connect(self.open_settings)
        about = QPushButton("About…")
        about.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        about.clicked.connect(self.open_about)
        # Stacked, not side by side: two captions do not fit 180 px in every font.
        foot = QVBoxLayout()
        foot.setContentsMargins(12, 0, 12, 0)
        foot.setSpacing(6)
        foot.addWidget(settings)
        foot.addWidget(about)
        column.addLayout(foot)
        column.setSpacing(4)
        self._show_annotator(self.context.annotator)
        return sidebar

    def _status_bar(self) -> None:
        bar = self.statusBar()
        self.folder_label = QLabel(f"Data folder: {self.context.paths.root}")
        self.folder_label.setToolTip(str(self.context.paths.db))
        self.counts_label = QLabel()
        self.task_label = QLabel()
        self.task_bar = QProgressBar()
        self.task_bar.setTextVisible(False)
        self.task_bar.hide()
        bar.addWidget(self.folder_label, 1)
        bar.addPermanentWidget(self.task_label)
        bar.addPermanentWidget(self.task_bar)
        bar.addPermanentWidget(self.counts_label)
        self.context.ops.progress.connect(self._on_progress)
        self.context.ops.busy_changed.connect(self._on_busy)
        self.context.ops.failed.connect(lambda message: bar.showMessage(message, 8000))
        self.context.status_message.connect(lambda message: bar.showMessage(message, 5000))

    def _shortcuts(self) -> None:
        self.quit_guard = QuitGuard(self, self.context)  # Ctrl+Q
        # Alt+1 … Alt+5 and ? on every page (ui/window_keys.py).
        self.keys = WindowKeys(self, list(PAGES), self.nav, self.show_page,
                               lambda: self.pages[self.current_page_name()])

    def _show_annotator(self, name: str) -> None:
        self.annotator_label.setText(f"Annotator: {name}")

    # ---- status ------------------------------------------------------------------------
    def _remove_leftovers(self) -> None:
        paths = self.context.paths

        def sweep(_store: Store) -> list[Path]:
            # Imported on the store worker, after the first paint: not needed to show a window.
            from studio.app.doctor import remove_stale_staging

            return remove_stale_staging(paths)

        self.context.ops.run(sweep, owner=self, on_success=self._said_leftovers)

    def _said_leftovers(self, removed: list[Path]) -> None:
        if removed:
            self.context.status_message.emit(
                f"Removed {len(removed)} unfinished staging folder(s) left by a stopped process.")

    def refresh_counts(self) -> None:
        self.context.ops.run(Store.counts, on_success=self._show_counts, owner=self)

    def _show_counts(self, counts: dict[str, int]) -> None:
        self.counts_label.setText(
            f"{counts['prompts']:,} prompts · {counts['responses']:,} responses ·"
            f" {counts['labels']:,} label events"
        )

    def _on_changed(self, changes: Changes) -> None:
        if changes.data:
            self.refresh_counts()

    def _on_progress(self, title: str, done: int, total: int) -> None:
        self.task_label.setText(title)
        self.task_bar.setRange(0, max(total, 1))
        self.task_bar.setValue(done)
        self.task_bar.show()

    def _on_busy(self, busy: bool) -> None:
        if not busy:
            self.task_bar.hide()
            self.task_label.clear()

    # ---- settings and lifetime ---------------------------------------------------------
    def open_about(self) -> None:
        from ui.dialogs.about_dialog import AboutDialog

        AboutDialog(self.context, self).exec()

    def open_settings(self) -> None:
        from ui.dialogs.settings_dialog import SettingsDialog

        SettingsDialog(self.context, self).exec()

    def _restore(self) -> None:
        geometry = self.context.settings.value("window/geometry")
        size = self.context.settings.value("window/size")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
            if isinstance(size, QSize) and not self.isMaximized():
                self.resize(size)  # restoreGeometry clamps to a screen that may not exist yet
        else:
            self.resize(1280, 820)
        page = str(self.context.settings.value("window/page", FIRST_PAGE) or FIRST_PAGE)
        self.show_page(page if page in PAGES else FIRST_PAGE)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.context.settings.setValue("window/geometry", self.saveGeometry())
        self.context.settings.setValue("window/size", self.size())
        for page in self.pages.values():
            close = getattr(page, "shutdown", None)
            if callable(close):
                close()
        self.context.close()
        super().closeEvent(event)
