"""The keyboard help opened with ``?``: a panel over a dimmed page."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

Section = tuple[str, Sequence[tuple[str, str]]]
# The window's keys, on every page's help (``ui.window_keys``).
WINDOW_SECTION: Section = ("Any page", [("Alt+1 … Alt+5", "Data, Label, Train, Models, Compare"),
                                        ("?", "this help"), ("Ctrl+Q", "quit")])


class HelpOverlay(QWidget):
    """Covers its parent; any key or click closes it."""

    def __init__(self, sections: Sequence[Section], parent: QWidget):
        super().__init__(parent)
        self.setObjectName("HelpOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        outer = QVBoxLayout(self)
        panel = QFrame(objectName="HelpPanel")
        panel.setMaximumWidth(760)
        self.panel = panel
        grid = QGridLayout(panel)
        grid.setContentsMargins(24, 18, 24, 18)
        grid.setHorizontalSpacing(18)
        title = QLabel("Keyboard", objectName="PageTitle")
        grid.addWidget(title, 0, 0, 1, 4)
        # Two columns of sections; each section starts below the longest one above it. The
        # action texts wrap: "R · type a reason, Enter keeps it for this item" was cut at
        # 1024 px.
        rows = [1, 1]
        for index, (heading, keys) in enumerate(sections):
            col, row = (index % 2) * 2, rows[index % 2]
            if index % 2 == 0 and index:
                row = rows[0] = rows[1] = max(rows)
            grid.addWidget(QLabel(f"<b>{heading}</b>"), row, col, 1, 2)
            for offset, (key, action) in enumerate(keys, start=1):
                grid.addWidget(QLabel(key, objectName="Kbd"), row + offset, col,
                               alignment=Qt.AlignmentFlag.AlignRight)
                grid.addWidget(QLabel(action, wordWrap=True), row + offset, col + 1)
            rows[index % 2] = row + len(keys) + 1
        foot = QLabel("Press any key to close.", objectName="Muted")
        grid.addWidget(foot, 99, 0, 1, 4)
        outer.addWidget(panel, alignment=Qt.AlignmentFlag.AlignCenter)
        parent.installEventFilter(self)
        self.hide()

    def open(self) -> None:
        self.setGeometry(self.parentWidget().rect())
        self.show()
        self.raise_()
        self.setFocus()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride:
            event.accept()  # every key closes the help, "?" and Alt+N included
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        self.close_overlay()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.close_overlay()

    def close_overlay(self) -> None:
        self.hide()
        self.parentWidget().setFocus()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(self.parentWidget().rect())
        return False
