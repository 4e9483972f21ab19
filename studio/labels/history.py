"""Undo and redo of labels in one labeling session, as plain state (no Qt).

The store keeps every label as an event, so undo writes a retraction and redo re-applies it; this
class only remembers which label event to undo or redo next and which item it belongs to, so the
Label page can show that item again. The Qt session calls the store and reports back here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass
class LabelHistory(Generic[Item]):
    """Two stacks of (label event id, item): what undo and redo act on next."""

    undo_stack: list[tuple[int, Item]] = field(default_factory=list)
    redo_stack: list[tuple[int, Item]] = field(default_factory=list)

    def labeling(self) -> None:
        """A new label is being made: the redo branch no longer applies."""
        self.redo_stack.clear()

    def written(self, label_id: int, item: Item) -> None:
        """A label (or a redo) was committed: it is the next thing undo retracts."""
        self.undo_stack.append((label_id, item))

    def next_undo(self) -> tuple[int, Item] | None:
        """Take the label to undo, or None when there is nothing to undo."""
        return self.undo_stack.pop() if self.undo_stack else None

    def next_redo(self) -> tuple[int, Item] | None:
        """Take the label to redo, or None when there is nothing to redo."""
        return self.redo_stack.pop() if self.redo_stack else None

    def undone(self, label_id: int, item: Item) -> None:
        """The retraction of ``label_id`` was committed: redo can bring it back."""
        self.redo_stack.append((label_id, item))
