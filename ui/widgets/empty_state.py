"""A calm, honest empty state: a title, what will be here, and what to do now."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class EmptyStateWidget(QWidget):
    def __init__(self, title: str, text: str,
                 actions: Sequence[tuple[str, Callable[[], None]]] = (),
                 parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        self.title = QLabel(title, objectName="EmptyTitle")
        self.text = QLabel(text, objectName="EmptyText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setOpenExternalLinks(False)
        # The labels fill a centred column rather than being centred themselves: a centred
        # word-wrapped label gets the height of a narrower guess and its last line was cut.
        column_box = QWidget()
        column_box.setMaximumWidth(560)
        column = QVBoxLayout(column_box)
        column.setContentsMargins(0, 0, 0, 0)
        self.title.setWordWrap(True)
        for label in (self.title, self.text):
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            column.addWidget(label)
        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addWidget(column_box, 100)
        centred.addStretch(1)
        layout.addLayout(centred)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch()
        for index, (caption, callback) in enumerate(actions):
            button = QPushButton(caption)
            button.setProperty("primary", index == 0)
            button.clicked.connect(callback)
            self.buttons.addWidget(button)
        self.buttons.addStretch()
        layout.addSpacing(12)
        layout.addLayout(self.buttons)
        layout.addStretch(3)

    def set_text(self, title: str, text: str) -> None:
        self.title.setText(title)
        self.text.setText(text)
