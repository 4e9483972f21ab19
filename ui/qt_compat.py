"""Work around a PySide6 6.12.0 reference-count bug on Python < 3.12.

``SignalInstance.emit()`` there returns ``True`` without taking a reference, so each emit
from Python drops one reference to ``True``; after a few thousand emits the interpreter
aborts with "bool_dealloc: deallocating True or False". Python 3.12+ makes ``True``
immortal, so the bug is harmless there. :func:`emit` emits and, only where the bug is
measured at import, gives the reference back. Use it for every emit from Python code.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance


class _Probe(QObject):
    ping = Signal()


def _emit_leaks_true() -> bool:
    if sys.version_info >= (3, 12):
        return False
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    return sys.getrefcount(True) < before


_LEAKS = _emit_leaks_true()
if _LEAKS:  # repair the references the probe itself dropped
    for _ in range(8):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))


def emit(signal: SignalInstance, *args: Any) -> None:
    """``signal.emit(*args)``, without the reference leak of PySide6 6.12.0."""
    signal.emit(*args)
    if _LEAKS:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
