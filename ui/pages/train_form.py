"""A form generated from the TrainConfig dataclass: one row per field, its help as tooltip.

Fields with ``choices`` get a combo box, optional booleans an auto/on/off combo, everything
else a line edit (empty = "auto" for optional fields). Fields marked ``advanced`` go into the
folded "Advanced" box. The page owns method, model, preset and snapshot; they are not here.
"""

from __future__ import annotations

from dataclasses import Field, fields
from typing import Any

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from studio.training.config import ConfigError, TrainConfig

# graders, reward_weights and prompts: the GRPO picker (ui/widgets/grpo_setup.py) sets them.
# train_from: the page's "Train on" (ui/widgets/train_scope.py), with its count.
# db: the run folder's database, written by the app when it creates the run.
PAGE_FIELDS = frozenset({"method", "model", "preset", "snapshot_dir", "db", "graders",
                         "reward_weights", "prompts", "train_from"})
TRISTATE = ("auto", "on", "off")


LABEL_WIDTH = 110  # shared with the page's own form rows, so all fields start at one x


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def align_labels(form: QFormLayout, width: int = LABEL_WIDTH) -> None:
    """Give every label of ``form`` the same width (two stacked forms line up)."""
    for row in range(form.rowCount()):
        item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        if item is not None and item.widget() is not None:
            item.widget().setMinimumWidth(width)


class ConfigFormWidget(QWidget):
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editors: dict[str, QWidget] = {}
        self.specs: dict[str, Field[Any]] = {}
        self.forms: dict[str, QFormLayout] = {}
        main, advanced = QFormLayout(), QFormLayout()
        for spec in fields(TrainConfig):
            if spec.name in PAGE_FIELDS:
                continue
            editor = self._editor(spec)
            editor.setToolTip(spec.metadata["help"])
            editor.setObjectName(f"field_{spec.name}")
            self.editors[spec.name], self.specs[spec.name] = editor, spec
            target = advanced if spec.metadata.get("advanced") else main
            target.addRow(spec.metadata.get("label") or _label(spec.name), editor)
            self.forms[spec.name] = target
        self.advanced_box = QGroupBox("Advanced")
        self.advanced_box.setCheckable(True)
        self.advanced_box.setChecked(False)
        inner = QWidget()
        inner.setLayout(advanced)
        box_layout = QVBoxLayout(self.advanced_box)
        box_layout.addWidget(inner)
        self.advanced_box.toggled.connect(inner.setVisible)
        # Folded, the box is just its checkable title: no empty frame below it.
        self.advanced_box.toggled.connect(
            lambda on: box_layout.setContentsMargins(*((9, 9, 9, 9) if on else (0, 0, 0, 0))))
        box_layout.setContentsMargins(0, 0, 0, 0)
        inner.setVisible(False)
        align_labels(main)
        align_labels(advanced)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(main)
        column.addWidget(self.advanced_box)

    def _editor(self, spec: Field[Any]) -> QWidget:
        choices = spec.metadata.get("choices")
        if choices or str(spec.type).startswith("bool"):
            combo = QComboBox()
            combo.addItems(list(choices or TRISTATE))
            combo.currentIndexChanged.connect(lambda _index: self.edited.emit())
            return combo
        line = QLineEdit()
        if "None" in str(spec.type):
            line.setPlaceholderText(spec.metadata.get("placeholder", "auto"))
        line.textEdited.connect(lambda _text: self.edited.emit())
        return line

    def set_config(self, config: TrainConfig) -> None:
        self.show_for(config.method)
        for name, editor in self.editors.items():
            value = getattr(config, name)
            with QSignalBlocker(editor):
                if isinstance(editor, QComboBox):
                    text = value if isinstance(value, str) else (
                        "auto" if value is None else ("on" if value else "off"))
                    editor.setCurrentText(text)
                elif isinstance(editor, QLineEdit):
                    editor.setText("" if value is None else f"{value:g}"
                                   if isinstance(value, float) else str(value))

    def show_for(self, method: str) -> None:
        """Show only the fields the method reads (GRPO's sampling settings mean nothing to
        KTO, and a visible field reads as one that matters)."""
        for name, editor in self.editors.items():
            methods = self.specs[name].metadata.get("methods")
            self.forms[name].setRowVisible(editor, methods is None or method in methods)

    def shown_fields(self) -> list[str]:
        """The fields whose rows are visible now (for tests and the page's layout)."""
        return [name for name, editor in self.editors.items()
                if self.forms[name].isRowVisible(editor)]

    def values(self) -> dict[str, Any]:
        """The fields as typed; raises ConfigError naming the first unreadable one."""
        return {name: self._value(name, editor) for name, editor in self.editors.items()}

    def _value(self, name: str, editor: QWidget) -> Any:
        kind = str(self.specs[name].type)
        if isinstance(editor, QComboBox):
            text = editor.currentText()
            if kind.startswith("bool"):
                return None if text == "auto" else text == "on"
            return text
        text = editor.text().strip() if isinstance(editor, QLineEdit) else ""
        if not text:
            if "None" in kind:
                return None
            raise ConfigError(f"{_label(name)}: enter a value")
        try:
            if kind.startswith("int"):
                return int(text)
            if kind.startswith("float"):
                return float(text)
        except ValueError:
            raise ConfigError(f"{_label(name)}: {text!r} is not a number") from None
        return text
