"""Read-only Markdown with readable code blocks, and a conversation view for prompts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QTextBlockFormat, QTextCursor, QTextFormat
from PySide6.QtWidgets import QTextBrowser, QWidget

from ui.theme import colors

ROLE_NAMES = {"system": "System", "user": "User", "assistant": "Assistant"}


class MarkdownView(QTextBrowser):
    """Renders Markdown; fenced code gets a monospace font on a shaded background.

    It never takes keyboard focus, so the labeling keys keep working while it shows text.
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setOpenExternalLinks(True)
        self.document().setDocumentMargin(14)

    def set_markdown(self, text: str) -> None:
        self.document().setMarkdown(
            text, self.document().MarkdownFeature.MarkdownDialectGitHub
        )
        self._shade_code()
        self.verticalScrollBar().setValue(0)

    def scroll_page(self, pages: float) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.value() + int(pages * bar.pageStep()))

    def _shade_code(self) -> None:
        shade = QColor(colors()["code"])
        block = self.document().begin()
        cursor = QTextCursor(self.document())
        while block.isValid():
            fmt = block.blockFormat()
            if fmt.hasProperty(QTextFormat.Property.BlockCodeFence) or \
                    fmt.hasProperty(QTextFormat.Property.BlockCodeLanguage):
                cursor.setPosition(block.position())
                shaded = QTextBlockFormat(fmt)
                shaded.setBackground(shade)
                shaded.setLeftMargin(6)
                cursor.setBlockFormat(shaded)
            block = block.next()


def conversation_markdown(messages: list[dict[str, str]], system: str | None = None) -> str:
    """A prompt as Markdown: each turn under its speaker's name; one turn shows plainly."""
    turns = ([{"role": "system", "content": system}] if system else []) + messages
    if len(turns) == 1:
        return turns[0]["content"]
    parts = []
    for turn in turns:
        name = ROLE_NAMES.get(turn["role"], turn["role"].title())
        parts.append(f"**{name}**\n\n{turn['content']}")
    return "\n\n---\n\n".join(parts)


def monospace_font() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
