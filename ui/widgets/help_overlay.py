"""The keyboard help opened with ``?``: a panel over a dimmed page."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

Section = tuple[str, Sequence[tuple[str, str]]]


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
        grid = QGridLayout(panel)
        grid.setContentsMargins(24, 18, 24, 18)
        grid.setHorizontalSpacing(18)
        title = QLabel("Keyboard", objectName="PageTitle")
        grid.addWidget(title, 0, 0, 1, 4)
        for column, (heading, keys) in enumerate(sections):
            col = (column % 2) * 2
            row = 1 + (column // 2) * 12
            grid.addWidget(QLabel(f"<b>{heading}</b>"), row, col, 1, 2)
            for offset, (key, action) in enumerate(keys, start=1):
                grid.addWidget(QLabel(key, objectName="Kbd"), row + offset, col,
                               alignment=Qt.AlignmentFlag.AlignRight)
                grid.addWidget(QLabel(action), row + offset, col + 1)
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
