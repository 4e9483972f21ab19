"""The Train page's "Train on": which labels a run trains on (mine, all, a tag or a source),
with the count it will train on and why, under it.

The choices and the count are read on the store worker (:mod:`studio.app.train_scope`: the
count derives every current label); the widget only shows them. Empty means the default the
line under it names (``mine`` once the person made enough labels for the method).
"""

from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from studio.app.train_scope import ScopeChoice, describe_scope
from studio.training.config import TrainConfig
from ui.context import AppContext

DEFAULT_TEXT = "default"
DEBOUNCE_MS = 300  # a typed tag is counted once the typing pauses


class TrainScopeWidget(QWidget):
    """A combo of scopes and a muted line: "SFT on your own 25 good answers ..."."""

    edited = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.method = "sft"
        self.choice: ScopeChoice | None = None
        self.combo = QComboBox(objectName="trainFrom", editable=True)
        self.combo.setToolTip(TrainConfig.__dataclass_fields__["train_from"].metadata["help"])
        self.combo.addItem(DEFAULT_TEXT)
        self.why = QLabel(objectName="Muted", wordWrap=True)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.combo)
        column.addWidget(self.why)
        self.timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self.timer.timeout.connect(self.recount)
        self.combo.currentTextChanged.connect(lambda _text: self._edited())

    def selector(self) -> str:
        """The scope as a config's ``train_from`` (empty: the default)."""
        text = self.combo.currentText().strip()
        return "" if text in ("", DEFAULT_TEXT) else text

    def show_choices(self, choices: list[str]) -> None:
        """The scopes to offer; what the person typed or picked stays."""
        typed = self.combo.currentText()
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems([DEFAULT_TEXT, *choices])
        self.combo.setCurrentText(typed or DEFAULT_TEXT)
        self.combo.blockSignals(False)
        self.recount()

    def set_method(self, method: str) -> None:
        self.method = method
        self.setVisible(method != "grpo")  # GRPO picks prompts, not labels
        self.recount()

    def set_selector(self, selector: str) -> None:
        self.combo.setCurrentText(selector or DEFAULT_TEXT)

    def _edited(self) -> None:
        self.edited.emit()
        self.timer.start()

    def recount(self) -> None:
        """Count what the chosen scope trains on (on the reader: a label never waits for
        it, which at a million imported labels it would)."""
        if self.method == "grpo":
            return
        method, selector = self.method, self.selector()
        self.why.setText("Counting…")
        self.context.ops.read(lambda store: describe_scope(store, method, selector),
                              self._show, self._failed, owner=self)

    def _show(self, choice: ScopeChoice) -> None:
        self.choice = choice
        default = f" (default: {choice.default})" if not self.selector() else ""
        self.why.setText(f"{choice.count:,} examples{default}: {choice.why}")

    def _failed(self, error: BaseException) -> None:
        self.choice = None
        self.why.setText(str(error))
