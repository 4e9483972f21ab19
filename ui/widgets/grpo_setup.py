"""The Train page's "Reinforce with a grader" choices: the graders (one spec per line, an
optional weight first) and the prompts to practise on (a tag, a source, or all).

Shown only for the grpo method. It parses nothing heavier than the grader specs, so it is
instant; the prompt choices come from the page (read on the store worker).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QPlainTextEdit, QWidget

from studio.app.evaluate import SPEC_HELP
from studio.app.train_checks import ALL, GRPO_HELP
from studio.training.config import ConfigError


def parse_grader_lines(text: str) -> tuple[list[str], list[float] | None]:
    """Specs and weights from lines like ``numeric`` or ``0.5 regex:^Answer``; weights are
    None when no line gives one (all 1)."""
    specs: list[str] = []
    weights: list[float] = []
    for line in (raw.strip() for raw in text.splitlines()):
        if not line:
            continue
        head, _, rest = line.partition(" ")
        try:
            weight = float(head)
        except ValueError:
            specs.append(line)
            weights.append(1.0)
            continue
        if not rest.strip():
            raise ConfigError(f"graders: the line {line!r} has a weight but no grader spec")
        specs.append(rest.strip())
        weights.append(weight)
    return specs, (weights if any(w != 1.0 for w in weights) else None)


class GrpoSetupWidget(QWidget):
    """Graders and prompts of a GRPO run; ``edited`` on any change."""

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graders = QPlainTextEdit(objectName="grpoGraders")
        self.graders.setPlaceholderText("one grader per line, e.g.\nnumeric\n0.5 words:1-5")
        self.graders.setToolTip(GRPO_HELP["graders"] + " A number before a spec is its"
                                " weight.\n\n" + "\n".join(f"{k}: {v}"
                                                           for k, v in SPEC_HELP.items()))
        self.graders.setFixedHeight(72)
        self.graders.textChanged.connect(self.edited)
        self.prompts = QComboBox(objectName="grpoPrompts", editable=True)
        self.prompts.setToolTip(GRPO_HELP["prompts"])
        self.prompts.addItem(ALL)
        self.prompts.currentTextChanged.connect(lambda _text: self.edited.emit())
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Graders", self.graders)
        form.addRow("Prompts", self.prompts)

    def show_choices(self, choices: list[str]) -> None:
        """The tags and sources to offer; what the person typed stays."""
        typed = self.prompts.currentText()
        self.prompts.clear()
        self.prompts.addItems([ALL, *[c for c in choices if c != ALL]])
        self.prompts.setCurrentText(typed or ALL)

    def values(self) -> dict[str, Any]:
        specs, weights = parse_grader_lines(self.graders.toPlainText())
        return {"graders": specs, "reward_weights": weights,
                "prompts": self.prompts.currentText().strip() or ALL}

    def set_values(self, graders: list[str], weights: list[float] | None, prompts: str) -> None:
        lines = [spec if weights is None else f"{w:g} {spec}"
                 for spec, w in zip(graders, weights or [1.0] * len(graders), strict=False)]
        self.graders.setPlainText("\n".join(lines))
        self.prompts.setCurrentText(prompts or ALL)
