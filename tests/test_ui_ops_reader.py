"""Issue 25: the Data page's reads run on a reader worker with its own connection, so a label
commit never waits behind them (nor they behind a long write)."""

from __future__ import annotations

import threading
from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from ui.context import AppContext
from ui.ops import Ops

__all__ = ["context"]


def test_a_read_does_not_wait_behind_a_long_write_nor_a_write_behind_a_read(
        context: AppContext, store: Store, qtbot: QtBot) -> None:
    response = store.add_response(store.add_prompt("q"), "a", origin="model")
    release = threading.Event()
    order: list[str] = []
    ran_on: list[str] = []

    def slow_read(_store: Store) -> None:
        ran_on.append(threading.current_thread().name)
        release.wait(10)

    context.ops.read(slow_read, on_success=lambda _: order.append("read"))
    context.ops.run(lambda s: s.label_thumb(response, "up", "ana").id,
                    on_success=lambda _: order.append("label"))
    qtbot.waitUntil(lambda: order == ["label"], timeout=5000)  # the read is still running
    release.set()
    qtbot.waitUntil(lambda: order == ["label", "read"], timeout=5000)
    assert ran_on == ["store-reader"]
    assert store.current_labels()[0].value == "up"


def test_a_database_that_cannot_be_opened_fails_reads_and_writes(
        tmp_path: Path, qtbot: QtBot, qapp: object) -> None:
    folder = tmp_path / "not-a-file.db"
    folder.mkdir()  # a folder where the database file should be
    ops = Ops(folder)
    errors: list[str] = []
    ops.read(lambda s: 1, on_failure=lambda e: errors.append(str(e)))
    ops.run(lambda s: 1, on_failure=lambda e: errors.append(str(e)))
    qtbot.waitUntil(lambda: len(errors) == 2, timeout=10000)
    assert all("cannot open the database" in error for error in errors)
    ops.shutdown()  # returns: neither worker is left waiting
