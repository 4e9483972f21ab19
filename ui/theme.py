"""Dark and light themes that follow the system's colour scheme.

The style sheet in ``resources/styles/app.qss`` uses ``$name`` colour tokens; each theme
fills them in. The Fusion style plus a matching palette keeps native dialogs consistent.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

STYLES = Path(__file__).resolve().parent.parent / "resources" / "styles"

THEMES: dict[str, dict[str, str]] = {
    "light": {
        "bg": "#f6f7f9", "panel": "#ffffff", "sidebar": "#eceef2", "text": "#1d2330",
        "muted": "#667085", "border": "#d9dde5", "accent": "#3b6fd8", "accent_text": "#ffffff",
        "hover": "#e1e5ee", "code": "#f0f2f6", "good": "#1f8f4e", "bad": "#c2412d",
        "warn": "#b7791f", "selection": "#cfdcf7",
    },
    "dark": {
        "bg": "#17191e", "panel": "#1f2228", "sidebar": "#121419", "text": "#e3e6ec",
        "muted": "#8b93a3", "border": "#30343d", "accent": "#6c9cff", "accent_text": "#0d1220",
        "hover": "#2a2e37", "code": "#272b33", "good": "#4cc07a", "bad": "#ef6b55",
        "warn": "#e0a84a", "selection": "#2f4470",
    },
}


CHOICES = {"system": "Follow the system", "light": "Light", "dark": "Dark"}
SETTING = "appearance/theme"


class ThemeSignals(QObject):
    """Announces the theme now in use, for widgets that draw their own colours (plots)."""

    changed = Signal(str)  # "light" or "dark"


signals = ThemeSignals()
_choice = "system"  # what the person picked; "system" follows the desktop's scheme


def system_theme() -> str:
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def current_theme() -> str:
    """The name of the theme in use ("light" before any is applied)."""
    app = QApplication.instance()
    name = app.property("studio_theme") if app is not None else None
    return str(name) if name in THEMES else "light"


def colors(name: str | None = None) -> dict[str, str]:
    """The colours of a theme (the current one by default), for widgets that draw."""
    return THEMES[name or current_theme()]


def apply_theme(app: QApplication, name: str | None = None) -> str:
    name = name or system_theme()
    tokens = THEMES[name]
    app.setStyle("Fusion")
    app.setPalette(_palette(tokens))
    template = Template((STYLES / "app.qss").read_text(encoding="utf-8"))
    app.setStyleSheet(template.substitute(tokens))
    app.setProperty("studio_theme", name)
    signals.changed.emit(name)
    return name


def use_theme(app: QApplication, choice: str) -> str:
    """Apply the person's choice: "system", "light" or "dark"; returns the theme in use."""
    global _choice
    _choice = choice if choice in CHOICES else "system"
    return apply_theme(app, None if _choice == "system" else _choice)


def follow_system(app: QApplication, choice: str = "system") -> None:
    """Apply ``choice`` now; while it is "system", follow the desktop when it switches."""
    use_theme(app, choice)
    QGuiApplication.styleHints().colorSchemeChanged.connect(
        lambda _: apply_theme(app) if _choice == "system" else None)


def _palette(tokens: dict[str, str]) -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    for roles, key in (
        ((role.Window,), "bg"), ((role.Base, role.AlternateBase), "panel"),
        ((role.WindowText, role.Text, role.ButtonText, role.ToolTipText), "text"),
        ((role.Button,), "panel"), ((role.Highlight,), "accent"),
        ((role.HighlightedText,), "accent_text"), ((role.ToolTipBase,), "panel"),
        ((role.PlaceholderText,), "muted"), ((role.Link,), "accent"),
    ):
        for r in roles:
            palette.setColor(r, QColor(tokens[key]))
    palette.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor(tokens["muted"]))
    palette.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, QColor(tokens["muted"]))
    return palette
