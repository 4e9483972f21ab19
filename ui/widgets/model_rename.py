"""Rename a model from the Models page: a button, a context-menu action and F2.

The name is checked before it is stored (not empty, one line, not too long) and the write is
one store operation that declares what it changes (``Changes(models=True)``), so every page
showing model names (Models, Train, Compare) refreshes. The previous name is kept for Undo
(Ctrl+Z on the page), which is the same operation the other way round.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from studio.app.models import ModelEntry, rename_model
from studio.db.store import Store
from ui.changes import Changes
from ui.context import AppContext
from ui.widgets.model_tree import ModelTreeView

MAX_NAME = 120


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a model's name, or None."""
    text = name.strip()
    if not text:
        return "a model name cannot be empty"
    if "\n" in text or "\r" in text:
        return "a model name is one line"
    if len(text) > MAX_NAME:
        return f"a model name has at most {MAX_NAME} characters (this one has {len(text)})"
    return None


class ModelRenamer(QObject):
    """Owns the Rename and Undo-rename actions of a model tree."""

    def __init__(self, context: AppContext, tree: ModelTreeView,
                 say: Callable[[str], None]) -> None:
        super().__init__(tree)
        self.context, self.tree, self.say = context, tree, say
        self.last: tuple[str, str, str] | None = None  # (model id, old name, new name)
        self.action = QAction("Rename…", tree, shortcut=QKeySequence(Qt.Key.Key_F2))
        self.action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.action.triggered.connect(self.ask)
        self.undo_action = QAction("Undo rename", tree, shortcut=QKeySequence.StandardKey.Undo)
        self.undo_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.undo_action.triggered.connect(self.undo)
        self.undo_action.setEnabled(False)
        tree.addAction(self.action)
        tree.addAction(self.undo_action)
        tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def ask(self) -> None:
        row = self.tree.current_row()
        if row is None:
            return
        model_id, old = row.id, row.entry.name
        parent: QWidget = self.tree.window()
        name, ok = QInputDialog.getText(parent, "Rename model", "New name:",
                                        QLineEdit.EchoMode.Normal, old)
        if ok:
            self.rename(model_id, old, name)

    def rename(self, model_id: str, old: str, name: str) -> None:
        problem = name_problem(name)
        if problem:
            self.say(f"Not renamed: {problem}.")
            return
        new = name.strip()
        if new == old:
            return

        def write(store: Store) -> ModelEntry:
            return rename_model(store, model_id, new)

        def done(entry: ModelEntry) -> None:
            self.last = (model_id, old, entry.name)
            self.undo_action.setEnabled(True)
            self.say(f"Renamed “{old}” to “{entry.name}” (Ctrl+Z undoes it).")

        self.context.ops.run(write, on_success=done, changes=Changes(models=True),
                             on_failure=lambda error: self.say(f"Not renamed: {error}"),
                             owner=self)

    def undo(self) -> None:
        if self.last is None:
            return
        model_id, old, new = self.last
        self.last = None
        self.undo_action.setEnabled(False)

        def write(store: Store) -> ModelEntry:
            return rename_model(store, model_id, old)

        def done(_entry: ModelEntry) -> None:
            self.say(f"Renamed “{new}” back to “{old}”.")

        self.context.ops.run(write, on_success=done, changes=Changes(models=True),
                             on_failure=lambda error: self.say(f"Not undone: {error}"),
                             owner=self)
