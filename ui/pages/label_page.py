"""The Label page: thumbs, pairwise and edit labeling, keyboard first.

Every key is in ``ui/pages/label_keys.py``. The page only draws; :class:`LabelSession` owns
the queue, history and undo, and talks to the store through the background worker. The
filter bar is :class:`LabelFilterWidget` and the item itself is :class:`LabelItemView`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.app.label import QueueFilter, QueueItem, filter_prompt_ids
from studio.app.overview import QueueOverview
from studio.db.records import Label
from ui.context import AppContext, Changes
from ui.pages.label_filters import LabelFilterWidget
from ui.pages.label_keys import ACTIONS, COMMON, HELP, HINTS, MODE_KEYS, MODE_NAMES
from ui.pages.label_session import LabelSession
from ui.pages.label_text import empty_text, recorded_text
from ui.pages.label_view import LabelItemView
from ui.widgets.empty_state import EmptyStateWidget
from ui.widgets.flow_layout import FlowLayout, flow_policy
from ui.widgets.help_overlay import HelpOverlay

if TYPE_CHECKING:
    from ui.dialogs.generate_dialog import PromptScope

ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
RECORDED_MS = 2500  # how long "👎 recorded · reason saved" stays in the footer


class LabelPage(QWidget):
    item_drawn = Signal(object)  # the QueueItem drawn, or None (for tests and the benchmark)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.session = LabelSession(context, self)
        self.overview: QueueOverview | None = None
        self.filters = LabelFilterWidget(context)
        self.tag_box, self.model_box = self.filters.tag_box, self.filters.model_box
        self.pairing_box = self.filters.pairing_box
        self.view = LabelItemView()
        self.editor, self.suggestion = self.view.editor, self.view.suggestion
        self.thumb_card = self.view.thumb_card
        self.editor.installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)
        layout.addLayout(self._header())
        self.progress = QLabel(objectName="Muted", wordWrap=True)
        layout.addLayout(self._progress_row())
        self.body = QStackedWidget()
        self.empty = EmptyStateWidget("", "")
        self.body.addWidget(self.empty)
        self.body.addWidget(self.view)
        layout.addWidget(self.body, 1)
        layout.addLayout(self._footer())
        self.help = HelpOverlay(HELP, self)
        self._connect()
        self.filters.reload()
        self._restart()

    def _connect(self) -> None:
        self.session.item_changed.connect(self._draw)
        self.session.progress_changed.connect(self._show_progress)
        self.session.overview_changed.connect(self._on_overview)
        self.session.error.connect(self.context.status_message)
        self.session.labeled.connect(self._show_recorded)
        self.filters.changed.connect(self._filter_changed)
        self.context.changed.connect(self._on_changed)
        self.context.settings_changed.connect(self._restart)

    # ---- layout ------------------------------------------------------------------------
    def _header(self) -> QHBoxLayout:
        # A flow: the title, modes, filters and ? in one row were 887 px, wider than a
        # 1024 px window leaves the page; the filters wrap under the modes instead.
        header = flow_policy(QWidget())
        row = FlowLayout(header, spacing=8)
        row.addWidget(QLabel("Label", objectName="PageTitle"))
        self.mode_buttons: dict[str, QToolButton] = {}
        for number, (mode, name) in enumerate(MODE_NAMES.items(), start=1):
            button = QToolButton(text=f"{name}  {number}", checkable=True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolTip(f"{name} mode (key {number})")
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            self.mode_buttons[mode] = button
            row.addWidget(button)
        row.addWidget(self.filters)
        help_button = QToolButton(text="?")
        help_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        help_button.setToolTip("Keyboard help (?)")
        help_button.clicked.connect(lambda: self.help.open())
        line = QHBoxLayout()
        line.addWidget(header, 1)
        line.addWidget(help_button, alignment=Qt.AlignmentFlag.AlignTop)
        return line

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

    def _footer(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.reason = QLineEdit(placeholderText="Reason (optional): R, type, a label key")
        self.reason.setMaximumWidth(420)
        self.reason.installEventFilter(self)
        # The reason belongs to the item it was typed on: the target it was typed for.
        self._reason_target: str | None = None
        self.recorded = QLabel(objectName="Muted")
        self._recorded_timer = QTimer(self, singleShot=True, interval=RECORDED_MS)
        self._recorded_timer.timeout.connect(self.recorded.clear)
        self.hints = QLabel(objectName="KeyHint", wordWrap=True)
        self.hints.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.reason.setMinimumWidth(260)
        row.addWidget(self.reason, 2)
        row.addWidget(self.recorded)
        row.addWidget(self.hints, 3)
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
        self.view.show_mode(mode)
        self.hints.setText(HINTS[mode])
        self.reason.setVisible(mode != "edit")
        self.filters.show_pairing(mode == "pair")

    def _restart(self) -> None:
        mode = str(self.context.settings.value("label/mode", "thumb") or "thumb")
        mode = mode if mode in MODE_NAMES else "thumb"
        self._show_mode(mode)
        self.session.restart(mode=mode, filter=self.filters.current())

    def set_filter(self, model: str | None = None, pairing: str | None = None) -> None:
        """Point the queue at one model's candidates (after a Generate run, say)."""
        self.filters.set_filter(model=model, pairing=pairing)

    def _filter_changed(self) -> None:
        self.session.restart(filter=self.filters.current())

    def _on_changed(self, changes: Changes) -> None:
        if changes.origin is self.session or not (changes.prompts or changes.responses
                                                   or changes.labels):
            return
        if changes.prompts or changes.responses:
            self.filters.reload()
        self.session.refresh_overview()
        self.session.poll()

    # ---- drawing -----------------------------------------------------------------------
    def _draw(self, item: QueueItem | None) -> None:
        if item is None or item.target != self._reason_target:
            # A reason typed on another item must never ride along to this one's label.
            self.reason.clear()
            self._reason_target = None
        if item is None:
            self._draw_empty()
        else:
            self.body.setCurrentIndex(1)
            self.view.draw(item, self.session.shown_value(item), self.session.gold_text(item))
        self.item_drawn.emit(item)

    def _draw_empty(self) -> None:
        self.body.setCurrentIndex(0)
        if self.session.waiting and self.overview is None:
            self.empty.set_text("Loading…", "")
            return
        self.empty.set_text(*empty_text(self.session.mode, self.overview,
                                        self.session.skipped_count))

    def _on_overview(self, overview: QueueOverview) -> None:
        self.overview = overview
        if self.session.current is None and self.session.waiting:
            self._draw_empty()

    def _show_recorded(self, label: Label) -> None:
        self.flash(recorded_text(label))

    def flash(self, text: str) -> None:
        """Say for a moment, next to the reason box, what the last key did."""
        self.recorded.setText(text)
        self._recorded_timer.start()

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
        if ctrl:
            return self._handle_ctrl_key(key, bool(mods & Qt.KeyboardModifier.ShiftModifier))
        if mods & Qt.KeyboardModifier.AltModifier:
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

    def _handle_ctrl_key(self, key: int, shift: bool) -> bool:
        if key == Qt.Key.Key_Z:
            self.session.redo() if shift else self.session.undo()
        elif key == Qt.Key.Key_Y:
            self.session.redo()
        elif key in ENTER and self.session.mode == "edit":
            self.save_gold()
        else:
            return False
        return True

    def _run(self, action: str, argument: str) -> None:
        if action == "label":
            reason = self.reason.text().strip() or None
            if self.session.label(argument, reason=reason):
                self.reason.clear()
        elif action == "next":
            if self.session.current is None and self.session.skipped_count:
                self.session.revisit_skipped()
            else:
                self.session.next()
        elif action == "back":
            self.session.back()
        elif action == "edit" and self.session.current is not None:
            self.editor.setFocus()
        elif action == "reason" and self.session.mode != "edit" and self.session.current:
            self._reason_target = self.session.current.target
            self.reason.setFocus()
        elif action == "help":
            self.help.open()
        elif action == "scroll":
            self.view.scroll(float(argument))

    def save_gold(self) -> None:
        text = self.editor.toPlainText()
        if not text.strip():
            self.context.status_message.emit("A gold answer cannot be empty.")
            return
        self.setFocus()
        self.session.label("gold", text=text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if watched is self.editor and event.key() in ENTER and ctrl:
            self.save_gold()
            return True
        if watched in (self.editor, self.reason) and event.key() == Qt.Key.Key_Escape:
            self.setFocus()
            return True
        if watched is self.reason and event.key() in ENTER:
            # Enter keeps the reason for this item and stays: QLineEdit would pass the
            # key on to the page, whose Enter means "next", and the reason would then be
            # recorded with the next item's label.
            self.setFocus()
            if self.reason.text().strip():
                self.flash("Reason kept: now press a label key for this item")
            return True
        return False

    def showEvent(self, event: QEvent) -> None:
        super().showEvent(event)
        self.setFocus()

    # ---- candidates and judge -----------------------------------------------------------
    def prompt_scopes(self) -> list[PromptScope]:
        # The dialogs' module (and the job runner it brings) loads when a dialog opens, not
        # before the window first shows.
        from ui.dialogs.generate_dialog import PromptScope

        queue_filter = self.filters.current()
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

        queue_filter = self.filters.current()
        kind = "pair" if self.session.mode == "pair" else "thumb"
        JudgeDialog(self.context, self.prompt_scopes(), kind=kind, model=queue_filter.model,
                    pairing=queue_filter.pairing, parent=self).exec()
