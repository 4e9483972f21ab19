"""Issue 11 item 1: one run finishes and the next queued run starts while the Train page is
visible. The app segfaulted there: the page launched the next run from the store worker thread
through a QProcess, a Qt object made off the GUI thread."""

from __future__ import annotations

import threading
from typing import ClassVar

import pytest
from PySide6.QtCore import QProcess
from pytestqt.qtbot import QtBot
from test_ui_support import context
from test_ui_train import page, set_field, wait_for_exit

from studio.db.store import Store
from studio.training import runs as registry
from ui.pages.train_page import TrainPage
from ui.runners import process_runner

__all__ = ["context", "page"]


class ThreadNotingProcess(QProcess):
    """The real QProcess, noting the thread that makes each one."""

    threads: ClassVar[list[str]] = []

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        ThreadNotingProcess.threads.append(threading.current_thread().name)


def test_next_queued_run_starts_as_one_finishes(page: TrainPage, qtbot: QtBot, store: Store,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process_runner, "QProcess", ThreadNotingProcess)
    ThreadNotingProcess.threads = []
    for name, value in {"max_steps": "2", "max_length": "48", "eval_steps": "1000"}.items():
        set_field(page, name, value)
    page.launch_button.click()
    qtbot.waitUntil(lambda: page.current is not None, timeout=30_000)
    first = page.current.id
    qtbot.waitUntil(page.launch_button.isEnabled, timeout=30_000)
    page.launch_button.click()  # queued behind the first
    qtbot.waitUntil(lambda: len(page.runs_by_id) == 2, timeout=30_000)
    (second,) = set(page.runs_by_id) - {first}
    page.history.clearSelection()
    page.refresh(select=first)
    # The first finishes and the page, still visible, starts the second on its next poll.
    qtbot.waitUntil(lambda: page.runs_by_id[first].status == "completed"
                    and page.runs_by_id[second].status in {"running", "completed"},
                    timeout=180_000)
    assert page.isVisible()
    assert "completed" in page.status.text()  # not "running" until some later refresh
    assert page.eta.text().startswith("finished")  # no stale ETA once the run ended
    assert page.log.lineWrapMode() == page.log.LineWrapMode.WidgetWidth
    qtbot.waitUntil(lambda: page.runs_by_id[second].status == "completed", timeout=180_000)
    assert set(ThreadNotingProcess.threads) <= {threading.main_thread().name}
    for run_id in (first, second):
        wait_for_exit(registry.get_run(store, run_id).dir.read_pid(), qtbot)


