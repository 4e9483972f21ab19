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

    def set_markdown(self, text: str, scroll_to_end: bool = False) -> None:
        self.document().setMarkdown(
            keep_line_breaks(text), self.document().MarkdownFeature.MarkdownDialectGitHub
        )
        self._shade_code()
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum() if scroll_to_end else 0)

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


def keep_line_breaks(text: str) -> str:
    """Markdown where a single newline stays a line break (a haiku keeps its three lines).

    Markdown joins lines of one paragraph with a space; model answers and prompts mean their
    newlines, so each line followed by another in the same paragraph gets a hard break (two
    trailing spaces). Code fences are left alone: their lines are literal already.
    """
    lines = text.split("\n")
    fenced = False
    for index, line in enumerate(lines[:-1]):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
            continue
        following = lines[index + 1].strip()
        if not fenced and line.strip() and following and not following.startswith(
                ("```", "~~~", "|")) and not stripped.startswith("|"):
            lines[index] = line.rstrip() + "  "
    return "\n".join(lines)


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
