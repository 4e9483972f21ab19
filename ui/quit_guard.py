"""Ctrl+Q quits, asking first while a training run is going, and saying that it goes on.

Training runs are their own processes (their own process group), so quitting the app does
not stop them; the app re-attaches to them on the next start. Chat workers and the store
worker are the window's, and its close event shuts them down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QMessageBox

from studio.db.store import Store
from ui.context import AppContext

if TYPE_CHECKING:
    from studio.app.runs import Run

LIVE = ("running", "queued")


def quit_question(live: list[Run]) -> str | None:
    """What to ask before quitting, or None when nothing is going on."""
    if not live:
        return None
    running = [r for r in live if r.status == "running"]
    queued = len(live) - len(running)
    what = (f"{len(running)} training run(s) running" if running else "") + (
        (" and " if running and queued else "") + (f"{queued} queued" if queued else ""))
    return (f"There is {what}. Training goes on in the background after you quit (queued"
            " runs start when the app is open again), and the app picks the runs up when it"
            " starts. Quit Tuning Studio?")


class QuitGuard:
    def __init__(self, window: QMainWindow, context: AppContext) -> None:
        self.window, self.context = window, context
        self.shortcut = QShortcut(QKeySequence("Ctrl+Q"), window)
        self.shortcut.activated.connect(self.request_quit)
        self.box: QMessageBox | None = None

    def request_quit(self) -> None:
        # Imported on Ctrl+Q: the run list's imports are not needed to show the window.
        from studio.app.runs import list_runs

        def live(store: Store) -> list[Run]:
            return [r for r in list_runs(store) if r.status in LIVE]

        self.context.ops.run(live, on_success=self._ask, owner=self.window)

    def _ask(self, live: list[Run]) -> None:
        question = quit_question(live)
        if question is None:
            self._quit()
            return
        self.box = QMessageBox(QMessageBox.Icon.Question, "Quit Tuning Studio", question,
                               QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                               self.window)
        self.box.button(QMessageBox.StandardButton.Yes).setText("Quit")
        self.box.finished.connect(self._answered)
        self.box.open()

    def _answered(self, result: int) -> None:
        if result == QMessageBox.StandardButton.Yes:
            self._quit()

    def _quit(self) -> None:
        self.window.close()  # the last window: Qt ends the event loop
