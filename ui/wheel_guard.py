"""Combo boxes and spin boxes take the mouse wheel only when focused.

Scrolling a form used to change whatever field passed under the pointer (Device went from
auto to mps unnoticed, and the run failed 12 s later). One application-wide event filter
fixes it for every page and dialog: these fields no longer take focus from the wheel, and an
unfocused one passes the wheel on to its parent, so the page scrolls instead.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QWidget

GUARDED = (QComboBox, QAbstractSpinBox)


class WheelGuard(QObject):
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not isinstance(watched, GUARDED):
            return False
        kind = event.type()
        if kind == QEvent.Type.Polish and watched.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            # With WheelFocus Qt would focus the field before the wheel reaches it.
            watched.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        elif kind == QEvent.Type.Wheel and not _focused(watched):
            # Ignored and filtered: Qt offers the wheel to the parent (the scroll area).
            event.ignore()
            return True
        return False


def _focused(widget: QWidget) -> bool:
    # A combo's line edit or a spin box's editor holds the focus for it.
    focus = QApplication.focusWidget()
    return focus is not None and (focus is widget or widget.isAncestorOf(focus))


def install_wheel_guard(app: QApplication) -> WheelGuard:
    guard = WheelGuard(app)
    app.installEventFilter(guard)
    return guard
