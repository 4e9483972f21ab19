"""A titled card holding one response (or the prompt), with a verdict line."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ui.widgets.markdown_view import MarkdownView


class ResponseCard(QFrame):
    def __init__(self, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Card")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 8, 1, 1)
        layout.setSpacing(2)
        head = QHBoxLayout()
        head.setContentsMargins(14, 0, 14, 0)
        self.title = QLabel(title, objectName="CardTitle")
        self.meta = QLabel(objectName="Muted")
        self.verdict = QLabel(objectName="Verdict")
        head.addWidget(self.title)
        head.addWidget(self.meta)
        head.addStretch()
        head.addWidget(self.verdict)
        layout.addLayout(head)
        self.view = MarkdownView()
        layout.addWidget(self.view, 1)

    def show_text(self, markdown: str, meta: str = "") -> None:
        self.view.set_markdown(markdown)
        self.meta.setText(meta)

    def set_choice(self, choice: str | None, verdict: str = "") -> None:
        """Frame the card: 'good', 'bad', 'neutral' or None; the verdict is a short word."""
        self.setProperty("choice", choice or "")
        self.verdict.setText(verdict)
        self.style().unpolish(self)
        self.style().polish(self)
