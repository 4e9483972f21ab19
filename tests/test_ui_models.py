"""The Models page: the lineage tree, details, export through the real backend, delete."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_export_helpers import shared_adapter

from studio import models
from studio.converter import prepare_converter
from studio.paths import DataPaths
from studio.store import Store

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def context(qtbot, store: Store, data_paths: DataPaths, tmp_path: Path):
    from ui.context import AppContext

    ctx = AppContext(data_paths, settings_path=tmp_path / "settings.ini")
    yield ctx
    ctx.close()


def test_models_page_exports_and_deletes(
    qtbot, context, store: Store, demo_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from ui.pages.models_page import ModelsPage

    prepare_converter()
    base = models.add_base_model(store, demo_model_dir, name="demo base")
    adapter = models.add_adapter(store, shared_adapter(tmp_path_factory, demo_model_dir),
                                 base.id, name="sft run")
    page = ModelsPage(context)
    qtbot.addWidget(page)
    page.resize(1100, 600)
    qtbot.waitUntil(lambda: page.tree.topLevelItemCount() == 1, timeout=10_000)
    item = page.tree.topLevelItem(0).child(0)
    page.tree.setCurrentItem(item)
    assert page.selected_id() == adapter.id
    with qtbot.waitSignal(context.changed, timeout=120_000):
        page.start_export(models.get_model(store, adapter.id), ["Q8_0"])
        qtbot.waitUntil(lambda: page.export_process is None, timeout=120_000)
    assert "Export finished" in page.progress.text()
    qtbot.waitUntil(lambda: len(page._items()) == 6, timeout=10_000)  # + merged, F16, Q8, LoRA
    page.tree.setCurrentItem(page.tree.topLevelItem(0).child(0).child(0).child(0))
    qtbot.waitUntil(lambda: "Self-check" in page.details.toPlainText(), timeout=10_000)
    page.grab().save(str(tmp_path / "models-page.png"))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.tree.setCurrentItem(page.tree.topLevelItem(0).child(0))
    with qtbot.waitSignal(context.changed, timeout=10_000):
        page.delete()
    qtbot.waitUntil(lambda: len(page._items()) == 1, timeout=10_000)
    assert [m.kind for m in models.list_models(store)] == ["base"]
    page.shutdown()
