"""Issue 12: an operation declares what it changes; the store worker's helper announces that
once it succeeded (Anki's OpChanges), also when the page that asked is gone, and never when
the operation failed."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.errors import StudioError
from ui.changes import Changes
from ui.context import AppContext

__all__ = ["context"]


def test_a_successful_operation_announces_what_it_declared(context: AppContext,
                                                           qtbot: QtBot) -> None:
    with qtbot.waitSignal(context.changed, timeout=5000) as changed:
        context.ops.run(lambda store: store.add_prompt("Hello?"),
                        changes=lambda prompt_id: Changes(prompts=True,
                                                          prompt_ids=frozenset({prompt_id})))
    assert changed.args[0].prompts
    assert not changed.args[0].labels
    assert len(changed.args[0].prompt_ids) == 1


def test_nothing_is_announced_for_a_failure_or_a_none(context: AppContext,
                                                      qtbot: QtBot) -> None:
    seen: list[Changes] = []
    context.changed.connect(seen.append)

    def fail(_store: Store) -> None:
        raise StudioError("no")

    failures: list[BaseException] = []
    context.ops.run(fail, on_failure=failures.append, changes=Changes(labels=True))
    context.ops.run(lambda _store: 0, changes=lambda count: Changes(labels=True) if count
                    else None)
    qtbot.waitUntil(lambda: not context.ops.busy, timeout=5000)
    assert len(failures) == 1
    assert seen == []


def test_the_change_is_announced_when_the_owner_is_gone(context: AppContext,
                                                         qtbot: QtBot) -> None:
    owner = QObject()
    called: list[object] = []
    context.ops.run(lambda store: store.add_prompt("Still stored"), on_success=called.append,
                    owner=owner, changes=Changes(prompts=True))
    with qtbot.waitSignal(context.changed, timeout=5000) as changed:
        shiboken6.delete(owner)  # the page closed before the result came back
    assert changed.args[0].prompts
    assert called == []
