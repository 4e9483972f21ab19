"""Compare: chat with two models side by side, vote (blind by default), see win-rates.

Each pane owns a chat worker process. One input sends the same conversation to both; replies
stream at once, with time-to-first-token and tokens/s under each (the decode speed when it can be
measured, else tokens over the wall time since send). Model 1 starts on the base model and
Model 2 on the newest tuned one, so "base vs tuned" is one click. In blind mode the models are
put on random sides and their names stay hidden until the vote. A vote is stored as a pairwise
label (source ``compare``): preference data for the next run. The conversation then continues
from the preferred reply (the left one after a tie), so both panes always share one history
and every vote's prompt is exactly what both models saw.
"""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.app.compare import PairStats, Reply, Target, compare_targets, record_vote, win_rates
from ui.context import AppContext, Changes
from ui.widgets.chat_pane import ChatPaneWidget

# Voting keys, as on the Label page's Pairwise mode where it can be: 1/2 for the sides here,
# since A and B are letters one types into the message box.
VOTE_KEYS = {Qt.Key.Key_1: "a", Qt.Key.Key_2: "b", Qt.Key.Key_T: "tie", Qt.Key.Key_X: "both_bad"}
NO_TARGETS_HINT = ("Compare chats with GGUF models, and {n} here. Export one on the"
                   " <b>Models</b> page (select a model, <b>Export GGUF…</b>): the base model and"
                   " a tuned one make the usual pair.")


class ComparePage(QWidget):
    """The Compare page: model pickers, sampling, two panes, a shared input, votes."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.targets: list[Target] = []
        self._stats: list[PairStats] = []  # the blind votes last read
        self._defaults: list[str] = []  # the default pair last offered (base, newest tuned)
        self.history: list[dict[str, str]] = []
        self.turn = 0
        self.swapped = False
        self.voted = True
        self.panes = [ChatPaneWidget("A"), ChatPaneWidget("B")]
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)  # as the other pages
        layout.addWidget(QLabel("Compare", objectName="PageTitle"))
        layout.addWidget(self._setup_row())
        self.hint = QLabel(objectName="Muted")
        self.hint.setWordWrap(True)
        self.hint.hide()
        layout.addWidget(self.hint)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for pane in self.panes:
            splitter.addWidget(pane)
            pane.finished.connect(self._on_pane_finished)
        layout.addWidget(splitter, 1)
        layout.addLayout(self._input_row())
        layout.addLayout(self._vote_row())
        self.winrate = QLabel("No blind votes yet.", objectName="Muted")
        self.winrate.setWordWrap(True)
        layout.addWidget(self.winrate)
        context.changed.connect(self._on_changed)
        self.refresh_targets()
        self.refresh_winrate()
        self._update_buttons()

    # ---- layout ------------------------------------------------------------------------
    def _setup_row(self) -> QWidget:
        # A grid of two lines, not one row: side by side the pickers, the four numbers and
        # the Blind box made the page 1102 px wide, more than a 1024 px window leaves it.
        box = QGroupBox("Models and sampling")
        grid = QGridLayout(box)
        self.pickers = [QComboBox(), QComboBox()]
        for number, picker in enumerate(self.pickers):
            picker.setMinimumWidth(160)
            picker.currentTextChanged.connect(picker.setToolTip)  # the whole name
            picker.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            grid.addWidget(QLabel(f"Model {number + 1}"), number, 0)
            grid.addWidget(picker, number, 1)
        self.temperature = _spin(QDoubleSpinBox(), 0.0, 2.0, 0.7,
                                 "Sampling temperature (0: greedy)")
        self.top_p = _spin(QDoubleSpinBox(), 0.05, 1.0, 0.95, "Nucleus sampling probability mass")
        self.max_tokens = _spin(QSpinBox(), 1, 4096, 256, "Longest reply, in tokens")
        self.seed = _spin(QSpinBox(), 0, 2**31 - 1, 0, "Same seed, same reply (for both panes)")
        for index, (caption, spin) in enumerate((("Temperature", self.temperature),
                                                 ("Top-p", self.top_p),
                                                 ("Max tokens", self.max_tokens),
                                                 ("Seed", self.seed))):
            grid.addWidget(QLabel(caption), index % 2, 2 + (index // 2) * 2)
            grid.addWidget(spin, index % 2, 3 + (index // 2) * 2)
        self.blind = QCheckBox("Blind")
        self.blind.setToolTip("Random sides, and the model names hidden until you vote: the"
                              " votes then measure the answers, not the names.")
        self.blind.setChecked(True)
        self.start_button = QPushButton("Load && new chat")
        self.start_button.clicked.connect(self.new_chat)
        grid.addWidget(self.blind, 0, 6)
        grid.addWidget(self.start_button, 1, 6)
        grid.setColumnStretch(1, 1)
        return box

    def _input_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.input = QPlainTextEdit(placeholderText="Message both models… (Ctrl+Enter sends)")
        self.input.setMaximumHeight(80)
        self.send_button = QPushButton("Send")
        self.send_button.setShortcut("Ctrl+Return")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop)
        self.regen_button = QPushButton("Regenerate")
        self.regen_button.clicked.connect(self.regenerate)
        row.addWidget(self.input, 1)
        for button in (self.send_button, self.stop_button, self.regen_button):
            row.addWidget(button)
        return row

    def _vote_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("Which reply is better?"))
        self.vote_buttons = {}
        for key, text in (("a", "A is better  1"), ("b", "B is better  2"), ("tie", "Tie  T"),
                          ("both_bad", "Both bad  X")):
            button = QPushButton(text)
            button.setToolTip(f"Vote: {text.rsplit(' ', 1)[0]} (key {text.split()[-1]} when"
                              " the message box is not focused)")
            button.clicked.connect(lambda _=False, k=key: self.vote(k))
            self.vote_buttons[key] = button
            row.addWidget(button)
        self.edit_winner = QCheckBox("Edit the winner first")
        row.addWidget(self.edit_winner)
        row.addStretch(1)
        return row

    # ---- actions -----------------------------------------------------------------------
    def refresh_targets(self) -> None:
        self.context.ops.run(compare_targets, on_success=self._show_targets,
                             owner=self)

    def _show_targets(self, found: tuple[list[Target], tuple[int, int] | None]) -> None:
        """Fill the pickers; a new default pair (a newer tuned model) replaces the choice."""
        targets, pair = found
        self.targets = targets
        names = [t[0] for t in targets]
        defaults = [names[i] for i in pair] if pair else names[:2]
        renew = defaults != self._defaults
        self._defaults = defaults
        for number, picker in enumerate(self.pickers):
            current = picker.currentText()
            picker.clear()
            picker.addItems(names)
            if (renew or not current) and len(defaults) > number:
                picker.setCurrentText(defaults[number])
            elif current:
                picker.setCurrentText(current)
        have = "there is only one" if len(targets) == 1 else "there are none"
        self.hint.setText(NO_TARGETS_HINT.format(n=have))
        self.hint.setVisible(len(targets) < 2)
        self._update_buttons()
        self._show_winrate(self._stats)  # the pair on screen may have changed

    def new_chat(self) -> None:
        chosen = [self.targets[p.currentIndex()] for p in self.pickers if p.currentIndex() >= 0]
        if len(chosen) < 2:
            return
        self.swapped = self.blind.isChecked() and random.random() < 0.5
        if self.swapped:
            chosen.reverse()
        self.history, self.voted = [], True
        for pane, target in zip(self.panes, chosen, strict=True):
            pane.reply = ""
            pane.load(target, self.blind.isChecked())
            pane.render([])
        self._update_buttons()
        self._show_winrate(self._stats)  # the pair on screen may have changed

    def send(self) -> None:
        text = self.input.toPlainText().strip()
        if not text or self._busy() or not all(p.target for p in self.panes):
            return
        self._adopt_reply("a")
        self.history.append({"role": "user", "content": text})
        self.input.clear()
        self._ask()

    def regenerate(self) -> None:
        if self.history and not self._busy():
            self.seed.setValue(self.seed.value() + 1)  # a new draw, for both panes alike
            self._ask()

    def stop(self) -> None:
        for pane in self.panes:
            if pane.busy:
                pane.runner.stop_reply()

    def _ask(self) -> None:
        self.turn += 1
        self.voted = False
        sampling = {"temperature": self.temperature.value(), "top_p": self.top_p.value(),
                    "max_tokens": self.max_tokens.value(), "seed": self.seed.value()}
        for pane in self.panes:
            pane.send(f"{pane.side}{self.turn}", list(self.history), sampling)
            pane.render(self.history)
        self._update_buttons()

    def vote(self, key: str) -> None:
        left, right = self.panes
        edited = None
        if self.edit_winner.isChecked() and key in ("a", "b"):
            winner = left if key == "a" else right
            edited, ok = QInputDialog.getMultiLineText(self, "Edit the winner",
                                                       "Improve the better reply:", winner.reply)
            if not ok:
                return
        replies = [Reply(p.reply, p.target[0], self._gen_params(p))  # type: ignore[index]
                   for p in self.panes]
        conversation, blind = list(self.history), self.blind.isChecked()
        annotator, swapped = self.context.annotator, self.swapped
        self.context.ops.run(
            lambda store: record_vote(store, conversation, *replies, key, annotator,
                                              blind, swapped, edited),
            on_success=lambda _: self._voted(key), on_failure=self._vote_failed, owner=self,
            changes=Changes(prompts=True, responses=True, labels=True, origin=self))

    def _voted(self, key: str) -> None:
        self.voted = True
        self._adopt_reply(key)
        for pane in self.panes:
            pane.show_name(True)
        self.context.status_message.emit("Vote saved as a preference pair.")
        self.refresh_winrate()
        self._update_buttons()

    def _vote_failed(self, error: BaseException) -> None:
        self.context.status_message.emit(f"Vote not saved: {error}")

    def _adopt_reply(self, key: str) -> None:
        """Carry the preferred reply (or A's) into the shared history, once per turn.

        Each pane goes on showing its own reply (the loser's too, now that names show): the
        winner joins the transcript both panes draw from the next message on.
        """
        if self.history and self.history[-1]["role"] == "user" and self.panes[0].reply:
            pane = self.panes[1] if key == "b" else self.panes[0]
            self.history.append({"role": "assistant", "content": pane.reply})
            for each in self.panes:
                each.render(self.history[:-1])
                each.reply = ""

    def _gen_params(self, pane: ChatPaneWidget) -> dict[str, Any]:
        assert pane.target is not None
        return {"temperature": self.temperature.value(), "top_p": self.top_p.value(),
                "max_tokens": self.max_tokens.value(), "seed": self.seed.value(),
                "model_path": pane.target[1], "lora_path": pane.target[2],
                "ttft_s": pane.stats.get("ttft_s"), "tokens_per_s": pane.stats.get("tokens_per_s")}

    def refresh_winrate(self) -> None:
        self.context.ops.run(win_rates, on_success=self._show_winrate, owner=self)

    def _show_winrate(self, stats: list[PairStats]) -> None:
        self._stats = stats
        self.winrate.setText(winrate_text(stats, self._pair_on_screen()))

    def _pair_on_screen(self) -> tuple[str, str] | None:
        """The two models loaded in the panes, else the two picked."""
        names = [p.target[0] for p in self.panes if p.target] if all(
            p.target for p in self.panes) else [p.currentText() for p in self.pickers]
        # Sorted: in blind mode the order of the panes must not show through the names.
        return (min(names), max(names)) if len(names) == 2 and all(names) else None

    # ---- state -------------------------------------------------------------------------
    def _busy(self) -> bool:
        return any(p.busy for p in self.panes)

    def _on_pane_finished(self) -> None:
        self._update_buttons()
        if self.vote_buttons["a"].isEnabled() and not self.input.toPlainText().strip():
            self.setFocus()  # both replies are in: the voting keys work at once

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = VOTE_KEYS.get(Qt.Key(event.key()))
        if key and not event.modifiers() and self.vote_buttons[key].isEnabled():
            self.vote(key)
            return
        super().keyPressEvent(event)

    def _update_buttons(self) -> None:
        busy, ready = self._busy(), all(p.target for p in self.panes)
        replies = all(p.reply for p in self.panes) and not busy
        for button in self.vote_buttons.values():
            button.setEnabled(replies and not self.voted)
        self.send_button.setEnabled(ready and not busy)
        self.regen_button.setEnabled(ready and not busy and bool(self.history)
                                     and self.history[-1]["role"] == "user")
        self.stop_button.setEnabled(busy)
        self.start_button.setEnabled(len(self.targets) >= 2 and not busy)
        self.start_button.setToolTip(
            "Load both models and start an empty chat" if len(self.targets) >= 2
            else "Needs two GGUF models: export one on the Models page first")

    def _on_changed(self, changes: Changes) -> None:
        if changes.models:
            self.refresh_targets()
        if changes.labels and changes.origin is not self:
            self.refresh_winrate()

    def shutdown(self) -> None:
        for pane in self.panes:
            pane.runner.shutdown()


def winrate_text(stats: list[PairStats], pair: tuple[str, str] | None) -> str:
    """The blind win-rate of the pair on screen, then how many other pairs have votes."""
    on_screen = [s for s in stats if pair and {s.model_a, s.model_b} == set(pair)]
    others = len(stats) - len(on_screen)
    more = f" · {others} other pair(s) have blind votes" if others else ""
    if on_screen:
        return "Blind win-rate on screen: " + on_screen[0].describe() + more
    if pair:
        return f"No blind votes yet between {pair[0]} and {pair[1]}{more}."
    return "Blind win-rates: " + " · ".join(s.describe() for s in stats) if stats else (
        "No blind votes yet.")


def _spin(spin: Any, low: float, high: float, value: float, tip: str) -> Any:
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setToolTip(tip)
    spin.setMaximumWidth(110)  # the model pickers take the width: their names are long
    return spin
