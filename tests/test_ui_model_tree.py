"""Issue 12: the Models page's tree is a ModelTreeModel over typed records in a tree view; the
selection survives a re-read, and the records carry what the cells show (files gone, self-check)
so drawing never asks the disk."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from studio.registry.models import ModelEntry, ModelNode
from ui.item_models.model_tree import CHECK_COLUMN, MODEL_ID_ROLE
from ui.widgets.model_tree import ModelTreeView


def entry(model_id: str, kind: str = "base", **fields: object) -> ModelEntry:
    # Paths that do not exist: a cell that looked at the disk would say so.
    return ModelEntry(id=model_id, kind=kind, name=f"model {model_id}",
                      path=f"/nowhere/{model_id}", **fields)  # type: ignore[arg-type]


def lineage(*adapters: str) -> list[ModelNode]:
    return [ModelNode(entry("base"), [ModelNode(entry(a, "adapter", parent_id="base"))
                                      for a in adapters])]


def test_the_selection_survives_a_re_read(qtbot: QtBot) -> None:
    view = ModelTreeView()
    qtbot.addWidget(view)
    view.show_roots(lineage("a1"))
    view.select_id("a1")
    assert view.selected_id() == "a1"
    with qtbot.waitSignal(view.current_changed, timeout=1000):
        view.show_roots(lineage("a0", "a1"))  # a new model above the selected one
    assert view.selected_id() == "a1"
    model = view.model()
    base = model.index(0, 0)
    assert model.rowCount(base) == 2
    assert model.index(1, 0, base).data(MODEL_ID_ROLE) == "a1"
    assert model.parent(model.index(1, 0, base)).data(MODEL_ID_ROLE) == "base"
    view.show_roots(lineage("a0"))  # the selected model was deleted
    assert view.selected_id() is None


def test_cells_come_from_the_records(qtbot: QtBot) -> None:
    view = ModelTreeView()
    qtbot.addWidget(view)
    check = {"reference": "hf", "share": 0.5, "passed": False, "summary": "half agree"}
    view.show_roots([ModelNode(entry("g", "gguf", quant="Q8_0", selfcheck=check))])
    model, index = view.model(), view.model().index(0, 0)
    assert index.data() == "model g"
    assert model.index(0, CHECK_COLUMN).data() == "✗ 50% vs HF"
    assert model.index(0, CHECK_COLUMN).data(3) == "half agree"  # ToolTipRole
    assert view.rows()[0].tooltip(0) is None  # not known missing until the I/O pool says so
    with qtbot.waitSignal(model.dataChanged, timeout=1000):
        view.mark_missing({"g"})
    assert view.rows()[0].tooltip(0) == "missing on disk: /nowhere/g"
