"""One side of the Compare page: the transcript of a model's replies and their speed."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QElapsedTimer, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from studio.app.compare import Target
from ui.runners.chat_runner import ChatRunner
from ui.widgets.markdown_view import MarkdownView, conversation_markdown

# A decode speed from fewer tokens or less time than this is noise (a burst once read 27848.6
# tok/s); the overall rate is shown instead. The same limits as backends.chat.reply_rate.
MIN_DECODE_TOKENS = 4
MIN_DECODE_S = 0.05


def speed_text(info: dict[str, Any], since_send_s: float | None = None) -> str:
    """Tokens/s of one finished reply as shown under its pane: never an absurd figure.

    The worker's decode speed when it measured enough tokens over enough time; otherwise the
    overall rate, tokens over the wall time since send (the pane's clock, else the worker's).
    """
    tokens = int(info.get("tokens") or 0)
    rate, decode_s = info.get("tokens_per_s"), float(info.get("decode_s") or 0.0)
    if (rate and info.get("rate_kind") == "decode" and tokens >= MIN_DECODE_TOKENS
            and decode_s >= MIN_DECODE_S):
        return f"{rate:.1f} tok/s"
    wall = since_send_s or float(info.get("wall_s") or 0.0)
    if tokens and wall > 0:
        return f"{tokens / wall:.1f} tok/s overall"
    return "n/a tok/s"


class ChatPaneWidget(QWidget):
    """One side: a header (name or "A"/"B"), the transcript, and TTFT / tokens/s."""

    finished = Signal()

    def __init__(self, side: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.side, self.target, self.reply, self.busy = side, None, "", False
        self.history: list[dict[str, str]] = []  # the conversation this pane's reply answers
        self.stats: dict[str, Any] = {}
        self.clock = QElapsedTimer()  # since send: the overall rate when decode is unmeasurable
        self.runner = ChatRunner(self)
        # Both wrap: a long model name ("SmolLM2-135M-Instruct · Q4_1 + … · LoRA F16") was cut
        # at 1024 px, where each pane is about 400 px wide.
        self.header = QLabel(objectName="PaneTitle", wordWrap=True)
        self.status = QLabel("no model", objectName="Muted", wordWrap=True)
        # The Label page's view: Markdown rendered, code shaded, line breaks kept.
        self.view = MarkdownView()
        self.view.setPlaceholderText("Pick two models above, Load & new chat,\nthen write a"
                                     " message below:\nboth answer side by side.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status)
        self.runner.loaded.connect(lambda info: self._set_status(
            f"ready · loaded in {info.get('load_s', 0):.2f} s"))
        self.runner.token.connect(self._on_token)
        self.runner.done.connect(self._on_done)
        self.runner.error.connect(self._on_error)
        self.runner.crashed.connect(self._on_crash)

    def load(self, target: Target, blind: bool) -> None:
        self.target, self.busy = target, False
        self.show_name(not blind)
        self._set_status("loading…")
        self.runner.load(target[1], target[2])

    def show_name(self, visible: bool) -> None:
        name = self.target[0] if self.target and visible else "hidden until you vote"
        self.header.setText(f"<b>{self.side}</b> · {name}")

    def send(self, request_id: str, messages: list[dict[str, str]], sampling: dict) -> None:
        self.reply, self.busy, self.stats = "", True, {}
        self.history = list(messages)
        self.clock.start()
        self.runner.chat(request_id, messages, **sampling)
        self._set_status("thinking…")

    def render(self, history: list[dict[str, str]]) -> None:
        """The conversation, then this pane's own reply (streaming or finished)."""
        turns = list(history)
        if self.reply or self.busy:
            turns.append({"role": "assistant", "content": self.reply})
        # conversation_markdown shows a lone turn without its speaker; a chat always names it.
        text = conversation_markdown(turns) if len(turns) > 1 else "\n\n".join(
            f"**{t['role'].title()}**\n\n{t['content']}" for t in turns)
        self.view.set_markdown(text, scroll_to_end=True)

    def _on_token(self, request_id: str, text: str) -> None:
        self.reply += text
        self.view.moveCursor(self.view.textCursor().MoveOperation.End)
        self.view.insertPlainText(text)

    def _on_done(self, info: dict) -> None:
        self.busy, self.stats, self.reply = False, info, info.get("text", self.reply)
        self.render(self.history)  # streamed as plain text; now drawn as Markdown
        since_send = self.clock.elapsed() / 1000 if self.clock.isValid() else None
        self._set_status(f"TTFT {info.get('ttft_s', 0):.2f} s · {speed_text(info, since_send)}"
                         + f" · {info.get('tokens', 0)} tokens"
                         + (" · stopped" if info.get("stopped") else ""))
        self.finished.emit()

    def _on_error(self, message: str, request_id: str) -> None:
        self._set_status(f"error: {message}")
        if self.busy:
            self.busy = False
            self.finished.emit()

    def _on_crash(self, message: str) -> None:
        self.busy = False
        self._set_status(message.splitlines()[0] + " — pick the model again to restart it")
        self.status.setToolTip(message)
        self.finished.emit()

    def _set_status(self, text: str) -> None:
        self.status.setText(text)

