"""The model registry as a lineage tree: a tree view over :class:`ModelTreeModel` that keeps
the selected model selected (by id) when the rows are read again."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSignalBlocker, Signal
from PySide6.QtWidgets import QHeaderView, QTreeView, QWidget

from studio.app.evaluate import Score
from studio.app.models import ModelNode
from ui.item_models.model_tree import (
    CHECK_COLUMN,
    COLUMNS,
    EVAL_COLUMN,
    ModelRow,
    ModelTreeModel,
    build_rows,
)


class ModelTreeView(QTreeView):
    current_changed = Signal()  # the selected model changed, or its rows were read again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tree_model = ModelTreeModel(self)
        self.setModel(self.tree_model)
        self.setUniformRowHeights(True)
        header = self.header()
        # The name is what a person reads here: sized to its text, never squeezed (with the
        # name stretched, long Eval and Self-check texts left it "Nan" at 1024 px). The
        # self-check is cut to a fixed width (its tooltip holds the whole text).
        header.setStretchLastSection(True)
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(CHECK_COLUMN, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(CHECK_COLUMN, 110)
        # The scores right after the size, before the self-check and the date: at 1024 px
        # they are in view without scrolling sideways.
        header.moveSection(header.visualIndex(EVAL_COLUMN), header.visualIndex(CHECK_COLUMN))
        self.selectionModel().currentChanged.connect(lambda *_: self.current_changed.emit())

    def show_roots(self, roots: list[ModelNode],
                   scores: dict[str, list[Score]] | None = None) -> None:
        """Show the tree anew (with each model's latest eval scores); the selected model stays
        selected."""
        current = self.selected_id()
        with QSignalBlocker(self.selectionModel()):
            self.tree_model.set_roots(build_rows(roots, scores or {}))
            self.expandAll()
            if current is not None:
                self._select(self.tree_model.index_of(current))
        self.viewport().update()
        self.current_changed.emit()  # the details re-read the (possibly renamed) model

    def mark_missing(self, missing: set[str]) -> None:
        """Say which models' files are gone (checked on the I/O pool, not while drawing)."""
        self.tree_model.mark_missing(missing)

    def roots(self) -> list[ModelRow]:
        return self.tree_model.roots

    def rows(self) -> list[ModelRow]:
        return self.tree_model.rows()

    def current_row(self) -> ModelRow | None:
        return self.tree_model.row_at(self.currentIndex())

    def selected_id(self) -> str | None:
        row = self.current_row()
        return row.id if row is not None else None

    def select_id(self, model_id: str) -> None:
        self._select(self.tree_model.index_of(model_id))

    def _select(self, index: QModelIndex) -> None:
        if index.isValid():
            self.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
