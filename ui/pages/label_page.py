"""The Label page: thumbs, pairwise and edit labeling, keyboard first.

Every key is in ``ui/pages/label_keys.py``. The page only draws; :class:`LabelSession` owns
the queue, history and undo, and talks to the store through the background worker.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.queue import QueueFilter, QueueItem, filter_prompt_ids, response_models
from studio.store import Store
from ui.context import AppContext, Changes
from ui.dialogs.generate_dialog import PromptScope
from ui.pages.label_keys import ACTIONS, COMMON, HELP, HINTS, MODE_KEYS, MODE_NAMES, VERDICTS
from ui.pages.label_session import LabelSession, Overview
from ui.qt_compat import emit
from ui.widgets.empty_state import EmptyStateWidget
from ui.widgets.help_overlay import HelpOverlay
from ui.widgets.markdown_view import conversation_markdown, monospace_font
from ui.widgets.response_card import ResponseCard

ANY = "Any"
PAIRINGS = {"All pairs": "all", "Adjacent pairs": "adjacent"}


class LabelPage(QWidget):
    item_drawn = Signal(object)  # the QueueItem drawn, or None (for tests and the benchmark)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.session = LabelSession(context, self)
        self.overview: Overview | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)
        layout.addLayout(self._header())
        self.progress = QLabel(objectName="Muted")
        layout.addLayout(self._progress_row())
        self.body = QStackedWidget()
        self.empty = EmptyStateWidget("", "")
        self.body.addWidget(self.empty)
        self.body.addWidget(self._workspace())
        layout.addWidget(self.body, 1)
        layout.addLayout(self._footer())
        self.help = HelpOverlay(HELP, self)
        self.session.item_changed.connect(self._draw)
        self.session.progress_changed.connect(self._show_progress)
        self.session.overview_changed.connect(self._on_overview)
        self.session.error.connect(self.context.status_message)
        context.changed.connect(self._on_changed)
        context.settings_changed.connect(self._restart)
        self._load_filters()
        self._restart()

    # ---- layout ------------------------------------------------------------------------
    def _header(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Label", objectName="PageTitle"))
        row.addSpacing(16)
        self.mode_buttons: dict[str, QToolButton] = {}
        for number, (mode, name) in enumerate(MODE_NAMES.items(), start=1):
            button = QToolButton(text=f"{name}  {number}", checkable=True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            self.mode_buttons[mode] = button
            row.addWidget(button)
        row.addStretch()
        self.source_box, self.tag_box, self.model_box = QComboBox(), QComboBox(), QComboBox()
        self.model_box.setToolTip("Only responses written by this model: e.g. the candidates"
                                  " of a Generate run.")
        for caption, box in (("Source", self.source_box), ("Tag", self.tag_box),
                             ("Model", self.model_box)):
            box.addItem(ANY)
            box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            box.setMinimumWidth(120)
            box.currentTextChanged.connect(self._filter_changed)
            row.addWidget(QLabel(caption, objectName="Muted"))
            row.addWidget(box)
        self.pairing_box = QComboBox()
        self.pairing_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for caption, value in PAIRINGS.items():
            self.pairing_box.addItem(caption, value)
        self.pairing_box.setToolTip(
            "All pairs: every two responses of a prompt (N candidates give N(N-1)/2 pairs)."
            " Adjacent pairs: consecutive candidates only (N-1 pairs), to keep the count"
            " linear.")
        self.pairing_box.currentIndexChanged.connect(self._filter_changed)
        self.pairing_label = QLabel("Pairs", objectName="Muted")
        row.addWidget(self.pairing_label)
        row.addWidget(self.pairing_box)
        help_button = QToolButton(text="?")
        help_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        help_button.setToolTip("Keyboard help (?)")
        help_button.clicked.connect(lambda: self.help.open())
        row.addWidget(help_button)
        return row

    def _progress_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(self.progress, 1)
        for caption, slot, tip in (
            ("Generate candidates…", self.open_generate,
             "Write N answers per prompt with a model, to label here."),
            ("Judge…", self.open_judge,
             "Let a model pre-label the queue's items; its labels show as suggestions."),
        ):
            button = QToolButton(text=caption)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            row.addWidget(button)
        return row

    def _workspace(self) -> QWidget:
        split = QSplitter(Qt.Orientation.Vertical)
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
        split.addWidget(self.prompt_card)
        split.addWidget(lower)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 3)
        split.setChildrenCollapsible(False)
        split.setSizes([190, 520])
        return split

    def _editor(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.edit_note = QLabel(objectName="Muted")
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("Card")
        self.editor.setFont(monospace_font())
        self.editor.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.editor.installEventFilter(self)
        column.addWidget(self.edit_note)
        column.addWidget(self.editor, 1)
        return box

    def _footer(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.reason = QLineEdit(placeholderText="Reason (optional): press R, type, Enter")
        self.reason.setMaximumWidth(420)
        self.reason.returnPressed.connect(self.setFocus)
        self.reason.installEventFilter(self)
        self.hints = QLabel(objectName="KeyHint")
        row.addWidget(self.reason)
        row.addStretch()
        row.addWidget(self.hints)
        return row

    # ---- modes and filters -------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode != self.session.mode:
            self.context.settings.setValue("label/mode", mode)
            self.session.restart(mode=mode)
        self._show_mode(mode)

    def _show_mode(self, mode: str) -> None:
        for name, button in self.mode_buttons.items():
            button.setChecked(name == mode)
        self.answers.setCurrentIndex(["thumb", "pair", "edit"].index(mode))
        self.hints.setText(HINTS[mode])
        self.reason.setVisible(mode != "edit")
        self.pairing_box.setVisible(mode == "pair")
        self.pairing_label.setVisible(mode == "pair")

    def _restart(self) -> None:
        mode = str(self.context.settings.value("label/mode", "thumb") or "thumb")
        mode = mode if mode in MODE_NAMES else "thumb"
        self._show_mode(mode)
        self.session.restart(mode=mode, filter=self._filter())

    def _filter(self) -> QueueFilter:
        source, tag, model = (box.currentText() for box in (self.source_box, self.tag_box,
                                                             self.model_box))
        return QueueFilter(None if source == ANY else source, None if tag == ANY else tag,
                           None if model == ANY else model,
                           str(self.pairing_box.currentData() or "all"))

    def set_filter(self, model: str | None = None, pairing: str | None = None) -> None:
        """Point the queue at one model's candidates (after a Generate run, say)."""
        with _Blocked(self.model_box), _Blocked(self.pairing_box):
            if model is not None:
                if self.model_box.findText(model) < 0:
                    self.model_box.addItem(model)
                self.model_box.setCurrentText(model)
            if pairing is not None:
                self.pairing_box.setCurrentIndex(max(0, self.pairing_box.findData(pairing)))
        self._filter_changed()

    def _filter_changed(self) -> None:
        self.session.restart(filter=self._filter())

    def _load_filters(self) -> None:
        from studio.browse import sources_and_tags

        def load(store: Store) -> tuple[list[str], list[str], list[str]]:
            return (*sources_and_tags(store), response_models(store))

        self.context.ops.run(load, on_success=self._fill_filters, owner=self)

    def _fill_filters(self, found: tuple[list[str], list[str], list[str]]) -> None:
        boxes = (self.source_box, self.tag_box, self.model_box)
        for box, values in zip(boxes, found, strict=True):
            current = box.currentText()
            with _Blocked(box):
                box.clear()
                box.addItems([ANY, *values])
                box.setCurrentText(current if current in values else ANY)

    def _on_changed(self, changes: Changes) -> None:
        if changes.origin is self.session or not (changes.prompts or changes.responses
                                                   or changes.labels):
            return
        if changes.prompts or changes.responses:
            self._load_filters()
        self.session.refresh_overview()
        self.session.poll()

    # ---- drawing -----------------------------------------------------------------------
    def _draw(self, item: QueueItem | None) -> None:
        if item is None:
            self._draw_empty()
        else:
            self.body.setCurrentIndex(1)
            self.prompt_card.show_text(
                conversation_markdown(item.prompt.messages, item.prompt.system),
                _prompt_meta(item))
            {"thumb": self._draw_thumb, "pair": self._draw_pair, "edit": self._draw_edit}[
                item.mode](item)
            self._draw_suggestion(item)
        emit(self.item_drawn, item)

    def _draw_suggestion(self, item: QueueItem) -> None:
        text = suggestion_text(item)
        self.suggestion.setText(text)
        self.suggestion.setVisible(bool(text))

    def _draw_thumb(self, item: QueueItem) -> None:
        response = item.responses[0]
        self.thumb_card.show_text(response.text, _response_meta(response))
        self.thumb_card.set_choice(*VERDICTS.get(self.session.shown_value(item) or "", (None,
                                                                                       "")))

    def _draw_pair(self, item: QueueItem) -> None:
        left, right = item.responses
        self.left_card.show_text(left.text, _response_meta(left))
        self.right_card.show_text(right.text, _response_meta(right))
        value = self.session.shown_value(item)
        marks = {"left": (("good", "Better"), ("bad", "")), "right": (("bad", ""), ("good",
                 "Better")), "tie": (("neutral", "Tie"),) * 2, "both_bad": (("bad", "Bad"),) * 2}
        left_mark, right_mark = marks.get(value or "", ((None, ""), (None, "")))
        self.left_card.set_choice(*left_mark)
        self.right_card.set_choice(*right_mark)

    def _draw_edit(self, item: QueueItem) -> None:
        start = item.responses[0] if item.responses else None
        self.editor.setPlainText(start.text if start else "")
        saved = self.session.shown_value(item) == "gold"
        if start is None:
            note = "No answer yet: press E and write the answer you want (Ctrl+Enter saves)."
        else:
            note = (f"Starting from response #{start.id} ({_response_meta(start)}). Press E,"
                    " fix it into the answer you want, Ctrl+Enter saves it as gold.")
        self.edit_note.setText(("Saved as gold. " if saved else "") + note)

    def _draw_empty(self) -> None:
        self.body.setCurrentIndex(0)
        if self.session.waiting and self.overview is None:
            self.empty.set_text("Loading…", "")
            return
        self.empty.set_text(*_empty_text(self.session.mode, self.overview,
                                         len(self.session.queue.skipped)))

    def _on_overview(self, overview: Overview) -> None:
        self.overview = overview
        if self.session.current is None and self.session.waiting:
            self._draw_empty()

    def _show_progress(self, today: int, remaining: int) -> None:
        mode = MODE_NAMES[self.session.mode]
        self.progress.setText(
            f"{today:,} labeled today · {remaining:,} left in {mode} · annotator"
            f" {self.context.annotator}")

    # ---- keys --------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if not self._handle_key(event):
            super().keyPressEvent(event)

    def _handle_key(self, event: QKeyEvent) -> bool:
        key, mods = event.key(), event.modifiers()
        ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
        if ctrl and key == Qt.Key.Key_Z:
            shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
            self.session.redo() if shift else self.session.undo()
            return True
        if ctrl and key == Qt.Key.Key_Y:
            self.session.redo()
            return True
        if ctrl and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.session.mode == "edit":
            self.save_gold()
            return True
        if ctrl or mods & Qt.KeyboardModifier.AltModifier:
            return False
        if key in MODE_KEYS:
            self.set_mode(MODE_KEYS[key])
            return True
        if event.text() == "?":
            self.help.open()
            return True
        action = ACTIONS[self.session.mode].get(key) or COMMON.get(key)
        if action is None:
            return False
        self._run(*action)
        return True

    def _run(self, action: str, argument: str) -> None:
        if action == "label":
            reason = self.reason.text().strip() or None
            if self.session.label(argument, reason=reason):
                self.reason.clear()
        elif action == "next":
            if self.session.current is None and self.session.queue.skipped:
                self.session.revisit_skipped()
            else:
                self.session.next()
        elif action == "back":
            self.session.back()
        elif action == "edit" and self.session.current is not None:
            self.editor.setFocus()
        elif action == "reason" and self.session.mode != "edit":
            self.reason.setFocus()
        elif action == "help":
            self.help.open()
        elif action == "scroll":
            for card in (self.thumb_card, self.left_card, self.right_card):
                card.view.scroll_page(float(argument))

    # ---- candidates and judge -----------------------------------------------------------
    def prompt_scopes(self) -> list[PromptScope]:
        queue_filter = self._filter()
        scopes = [PromptScope("Prompts matching the Label filters",
                              lambda store: filter_prompt_ids(store, queue_filter)),
                  PromptScope("All prompts", lambda store: filter_prompt_ids(store,
                                                                             QueueFilter()))]
        current = self.session.current
        if current is not None:
            prompt_id = current.prompt.id
            scopes.insert(0, PromptScope(f"This prompt (#{prompt_id})", lambda _: [prompt_id]))
        return scopes

    def open_generate(self) -> None:
        from ui.dialogs.generate_dialog import GenerateDialog

        dialog = GenerateDialog(self.context, self.prompt_scopes(), parent=self)
        dialog.exec()
        if dialog.generated_model:
            self.set_filter(model=dialog.generated_model)

    def open_judge(self) -> None:
        from ui.dialogs.judge_dialog import JudgeDialog

        queue_filter = self._filter()
        kind = "pair" if self.session.mode == "pair" else "thumb"
        JudgeDialog(self.context, self.prompt_scopes(), kind=kind, model=queue_filter.model,
                    pairing=queue_filter.pairing, parent=self).exec()

    def save_gold(self) -> None:
        text = self.editor.toPlainText()
        if not text.strip():
            emit(self.context.status_message, "A gold answer cannot be empty.")
            return
        self.setFocus()
        self.session.label("gold", text=text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        if watched is self.editor:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and \
                    event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                self.save_gold()
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.setFocus()
                return True
        if watched is self.reason and event.key() == Qt.Key.Key_Escape:
            self.setFocus()
            return True
        return False

    def showEvent(self, event: QEvent) -> None:
        super().showEvent(event)
        self.setFocus()


class _Blocked:
    """QSignalBlocker as a context manager for a widget filled by code, not by the person."""

    def __init__(self, widget: QWidget):
        self.widget = widget

    def __enter__(self) -> None:
        self.widget.blockSignals(True)

    def __exit__(self, *exc: object) -> None:
        self.widget.blockSignals(False)


def suggestion_text(item: QueueItem) -> str:
    """The judge's pre-label as one line, e.g. "Judge demo suggests: thumbs up · p=0.83"."""
    hint = item.suggestion
    if hint is None or item.mode == "edit":
        return ""
    words = {"up": "👍 thumbs up", "down": "👎 thumbs down", "left": "A (left) is better",
             "right": "B (right) is better", "tie": "a tie", "both_bad": "both bad"}
    odds = "" if hint.probability is None else (
        f" · p(good)={hint.probability:.2f}" if item.mode == "thumb"
        else f" · p(A better)={hint.probability:.2f}")
    return f"Judge {hint.judge} suggests: {words.get(hint.value, hint.value)}{odds}"


def _prompt_meta(item: QueueItem) -> str:
    parts = [f"#{item.prompt.id}", item.prompt.source]
    if item.prompt.tags:
        parts.append(", ".join(item.prompt.tags))
    if item.relabel:
        parts.append("re-label sample (blind)")
    return " · ".join(parts)


def _response_meta(response: object) -> str:
    model = getattr(response, "model", None)
    origin = getattr(response, "origin", "")
    return f"#{getattr(response, 'id', '')} · {model or origin}"


def _empty_text(mode: str, overview: Overview | None, skipped: int) -> tuple[str, str]:
    if overview is None or overview.prompts == 0:
        return ("Nothing to label yet",
                "Import a dataset on the <b>Data</b> page (Alt+1), or add the starter prompts"
                " there. Prompts without answers can be answered in <b>Edit</b> mode (3).")
    if mode in ("thumb", "pair") and overview.responses == 0:
        return ("These prompts have no responses yet",
                "Thumbs and Pairwise judge model answers. Press <b>3</b> to write answers"
                " yourself in Edit mode, import a dataset that has responses, or generate"
                " candidates with a model once the generate backend is set up.")
    if mode == "pair" and overview.pairable == 0:
        return ("No prompt has two responses yet",
                "Pairwise needs at least two answers to the same prompt. Press <b>1</b> for"
                " Thumbs, or import/generate a second answer per prompt.")
    more = (f"<br><br>You skipped {skipped} item(s): press <b>Enter</b> to go through them"
            " again." if skipped else "")
    return (f"All caught up in {MODE_NAMES[mode]}",
            f"Every item that matches the filters is labeled ({overview.today:,} today)."
            f" Change the filters, switch modes with <b>1 2 3</b>, or undo with"
            f" <b>Ctrl+Z</b>.{more}")
