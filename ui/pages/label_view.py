"""The item under review: the prompt above, and below it one answer, two answers or an editor.

It only draws; the page decides what is shown and owns the keys.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from studio.app.label import QueueItem
from ui.pages.label_keys import VERDICTS
from ui.pages.label_text import prompt_meta, response_meta, suggestion_text
from ui.widgets.markdown_view import conversation_markdown, monospace_font
from ui.widgets.response_card import ResponseCard

MODES = ("thumb", "pair", "edit")  # the order of the answer stack's pages
PAIR_MARKS = {
    "left": (("good", "Better"), ("bad", "")),
    "right": (("bad", ""), ("good", "Better")),
    "tie": (("neutral", "Tie"),) * 2,
    "both_bad": (("bad", "Bad"),) * 2,
}


class LabelItemView(QSplitter):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Vertical, parent)
        self.prompt_card = ResponseCard("PROMPT")
        self.answers = QStackedWidget()
        self.thumb_card = ResponseCard("RESPONSE")
        pair = QWidget()
        pair_row = QHBoxLayout(pair)
        pair_row.setContentsMargins(0, 0, 0, 0)
        self.left_card, self.right_card = ResponseCard("A · LEFT"), ResponseCard("B · RIGHT")
        pair_row.addWidget(self.left_card)
        pair_row.addWidget(self.right_card)
        self.answers.addWidget(self.thumb_card)
        self.answers.addWidget(pair)
        self.answers.addWidget(self._editor())
        lower = QWidget()
        column = QVBoxLayout(lower)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(4)
        self.suggestion = QLabel(objectName="Muted")
        self.suggestion.setToolTip("A judge model's pre-label. It is not your label and is no"
                                   " training data unless accepted (Data page or Judge…).")
        self.suggestion.hide()
        column.addWidget(self.suggestion)
        column.addWidget(self.answers, 1)
        self.addWidget(self.prompt_card)
        self.addWidget(lower)
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 3)
        self.setChildrenCollapsible(False)
        self.setSizes([190, 520])

    def _editor(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.edit_note = QLabel(objectName="Muted")
        self.edit_note.setWordWrap(True)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("Card")
        self.editor.setFont(monospace_font())
        self.editor.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        column.addWidget(self.edit_note)
        column.addWidget(self.editor, 1)
        return box

    def show_mode(self, mode: str) -> None:
        self.answers.setCurrentIndex(MODES.index(mode))

    def draw(self, item: QueueItem, value: str | None, gold: str | None = None) -> None:
        """Show ``item``; ``value`` is the label it already has in this session, if any, and
        ``gold`` the gold answer saved for an edit item."""
        self.prompt_card.show_text(
            conversation_markdown(item.prompt.messages, item.prompt.system), prompt_meta(item))
        if item.mode == "edit":
            self._draw_edit(item, value, gold)
        else:
            {"thumb": self._draw_thumb, "pair": self._draw_pair}[item.mode](item, value)
        text = suggestion_text(item)
        self.suggestion.setText(text)
        self.suggestion.setVisible(bool(text))

    def scroll(self, pages: float) -> None:
        for card in (self.thumb_card, self.left_card, self.right_card):
            card.view.scroll_page(pages)

    def _draw_thumb(self, item: QueueItem, value: str | None) -> None:
        response = item.responses[0]
        self.thumb_card.show_text(response.text, response_meta(response))
        self.thumb_card.set_choice(*VERDICTS.get(value or "", (None, "")))

    def _draw_pair(self, item: QueueItem, value: str | None) -> None:
        left, right = item.responses
        # No id, model or origin: "#1609 · human" told which side a person wrote, and the
        # side a person wrote is easy to prefer for that alone.
        self.left_card.show_text(left.text)
        self.right_card.show_text(right.text)
        left_mark, right_mark = PAIR_MARKS.get(value or "", ((None, ""), (None, "")))
        self.left_card.set_choice(*left_mark)
        self.right_card.set_choice(*right_mark)

    def _draw_edit(self, item: QueueItem, value: str | None, gold: str | None) -> None:
        start = item.responses[0] if item.responses else None
        if gold is not None:  # what was saved, not the answer it was edited from
            self.editor.setPlainText(gold)
            origin = f" (edited from response #{start.id})" if start else ""
            self.edit_note.setText(f"Saved as gold{origin}. Press E to change it; Ctrl+Enter"
                                   " saves the change as a new gold answer.")
            return
        self.editor.setPlainText(start.text if start else "")
        if start is None:
            note = "No answer yet: press E and write the answer you want (Ctrl+Enter saves)."
        else:
            note = (f"Starting from response #{start.id} ({response_meta(start)}). Press E,"
                    " fix it into the answer you want, Ctrl+Enter saves it as gold.")
        self.edit_note.setText(("Saved as gold. " if value == "gold" else "") + note)
