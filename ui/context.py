"""What every page gets: the data folder, the store worker, settings, and the change broadcast.

Pages are built as ``PageClass(context)``. An operation declares what it changes
(``context.ops.run(fn, changes=Changes(...))``) and the store worker's helper announces that on
``context.changed`` once it succeeded; every page listens and decides whether it must refresh.
A job runner declares what its job changes the same way (``JobRunner(..., context=context,
changes=Changes(...))``) and announces it when the job ends; :meth:`AppContext.announce` is
called by nothing else.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import platformdirs
from PySide6.QtCore import QObject, QSettings, Signal

from studio.paths import APP_NAME, DataPaths
from ui.changes import Changes
from ui.io_pool import IoPool
from ui.ops import Ops

SETTINGS_ENV = "TUNING_STUDIO_SETTINGS"


def default_settings_path() -> Path:
    override = os.environ.get(SETTINGS_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "settings.ini"


class AppContext(QObject):
    """Shared state of one open data folder. Call :meth:`close` when the window closes."""

    changed = Signal(object)  # Changes
    status_message = Signal(str)  # a short note for the status bar
    annotator_changed = Signal(str)
    settings_changed = Signal()  # annotator, re-label share...

    def __init__(self, paths: DataPaths, settings_path: Path | str | None = None,
                 parent: QObject | None = None, hold_store_work: bool = False):
        """``hold_store_work``: no store work (not even opening it) until
        ``self.ops.release()``; see :class:`ui.ops.Ops`."""
        super().__init__(parent)
        self.paths = paths
        path = Path(settings_path) if settings_path is not None else default_settings_path()
        self.settings = QSettings(str(path), QSettings.Format.IniFormat)
        self.ops = Ops(paths.db, parent=self, held=hold_store_work)
        self.io = IoPool(parent=self)  # disk work (run and model folders), not the database
        self.ops.changed.connect(self.announce)
        # Writes by other connections (a training run registering its adapter, the CLI, a
        # second window) say nothing about what they changed: every view re-reads.
        self.ops.external_write.connect(lambda: self.announce(Changes.everything()))

    # ---- settings ----------------------------------------------------------------------
    @property
    def annotator(self) -> str:
        name = str(self.settings.value("annotator", "") or "")
        return name or _login_name()

    def set_annotator(self, name: str) -> None:
        name = name.strip()
        if name and name != self.annotator:
            self.settings.setValue("annotator", name)
            self.annotator_changed.emit(name)
            self.settings_changed.emit()

    @property
    def relabel_share(self) -> float:
        """Share of queue items that are already-labeled ones shown again, blind."""
        return float(self.settings.value("label/relabel_share", 0.0) or 0.0)

    def set_relabel_share(self, share: float) -> None:
        share = max(0.0, min(0.5, share))
        if share != self.relabel_share:
            self.settings.setValue("label/relabel_share", share)
            self.settings_changed.emit()

    # ---- changes -----------------------------------------------------------------------
    def announce(self, changes: Changes) -> None:
        self.changed.emit(changes)

    def close(self) -> None:
        """Stop the store worker (waits for queued work) and flush settings."""
        self.ops.shutdown()
        self.io.shutdown()
        self.settings.sync()


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "me"
