"""Settings: the annotator name stored with every label, the re-label share, the theme."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from ui import theme
from ui.context import AppContext


class SettingsDialog(QDialog):
    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Settings")
        form = QFormLayout(self)
        self.name = QLineEdit(context.annotator)
        self.name.setToolTip("Stored with every label you make; used for agreement reports.")
        form.addRow("Annotator name", self.name)
        self.relabel = QSpinBox()
        self.relabel.setRange(0, 50)
        self.relabel.setSuffix(" %")
        self.relabel.setValue(round(context.relabel_share * 100))
        self.relabel.setToolTip(
            "Share of queue items that are ones you labeled before, shown again without your"
            " earlier answer. Your self-agreement is measured on them."
        )
        form.addRow("Re-label sample", self.relabel)
        self.theme = QComboBox()
        for key, text in theme.CHOICES.items():
            self.theme.addItem(text, key)
        self.theme.setCurrentIndex(list(theme.CHOICES).index(theme_choice(context.settings)))
        form.addRow("Appearance", self.theme)
        note = QLabel(f"Data folder: {context.paths.root}", objectName="Muted")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def accept(self) -> None:
        self.context.set_annotator(self.name.text())
        self.context.set_relabel_share(self.relabel.value() / 100)
        choice = str(self.theme.currentData())
        self.context.settings.setValue(theme.SETTING, choice)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.use_theme(app, choice)
        super().accept()


def theme_choice(settings: QSettings) -> str:
    choice = str(settings.value(theme.SETTING, "system") or "system")
    return choice if choice in theme.CHOICES else "system"
