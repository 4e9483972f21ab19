"""The Models page: the lineage tree, details, export through the real backend, delete."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_export_helpers import shared_adapter, shared_exports

from studio.db.store import Store
from studio.paths import DataPaths
from studio.registry import models
from studio.registry.converter import prepare_converter
from studio.registry.export_config import ExportConfig

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
    from PySide6.QtWidgets import QDialog, QMessageBox

    from ui.dialogs.gguf_export_dialog import GGUFExportDialog
    from ui.pages.models_page import ModelsPage

    prepare_converter()
    base = models.add_base_model(store, demo_model_dir, name="demo base")
    adapter = models.add_adapter(store, shared_adapter(tmp_path_factory, demo_model_dir),
                                 base.id, name="sft run")
    page = ModelsPage(context)
    qtbot.addWidget(page)
    page.resize(1100, 600)
    qtbot.waitUntil(lambda: len(page.tree.roots()) == 1, timeout=10_000)
    item = page.tree.roots()[0].children[0]
    page.tree.select_id(item.id)
    assert page.selected_id() == adapter.id
    seen: list[GGUFExportDialog] = []

    def choose(dialog: GGUFExportDialog) -> QDialog.DialogCode:
        assert [q for q, b in dialog.quant_boxes.items() if b.isChecked()] == ["Q4_K_M"]
        assert dialog.lora_box.isChecked()  # an adapter: the adapter-only GGUF by default
        dialog.grab().save(str(tmp_path / "export-dialog.png"))
        dialog.quant_boxes["Q4_K_M"].setChecked(False)
        dialog.quant_boxes["Q8_0"].setChecked(True)
        seen.append(dialog)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(GGUFExportDialog, "exec", choose)
    with qtbot.waitSignal(context.changed, timeout=120_000):
        page.export()
        qtbot.waitUntil(lambda: page.export_runner.running, timeout=10_000)
        job = page.export_runner.job_dir
        qtbot.waitUntil(lambda: not page.export_runner.running, timeout=120_000)
    assert seen
    assert job is not None
    config = ExportConfig.load(job)
    assert config.lora_gguf
    assert config.quants == ["Q8_0"]
    assert "Export finished" in page.progress.text()
    qtbot.waitUntil(lambda: len(page.tree.rows()) == 6, timeout=10_000)  # + merged, F16, Q8, LoRA
    page.tree.select_id(page.tree.roots()[0].children[0].children[0].children[0].id)
    qtbot.waitUntil(lambda: "Self-check" in page.details.toPlainText(), timeout=10_000)
    page.grab().save(str(tmp_path / "models-page.png"))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Yes)
    page.tree.select_id(page.tree.roots()[0].children[0].id)
    with qtbot.waitSignal(context.changed, timeout=10_000):
        page.delete()
    qtbot.waitUntil(lambda: len(page.tree.rows()) == 1, timeout=10_000)
    assert [m.kind for m in models.list_models(store)] == ["base"]
    page.shutdown()


def test_export_dialog_choices(qtbot, store: Store, demo_model_dir: Path) -> None:
    from ui.dialogs.gguf_export_dialog import GGUFExportDialog

    base = models.add_base_model(store, demo_model_dir, name="demo base")
    dialog = GGUFExportDialog(base)
    qtbot.addWidget(dialog)
    assert dialog.quants() == ["Q4_K_M"]
    assert not dialog.lora_gguf()  # a base model has no adapter to write alone
    for quant in ("Q8_0", "Q4_0"):
        dialog.quant_boxes[quant].setChecked(True)
    assert dialog.quants() == ["Q8_0", "Q4_K_M", "Q4_0"]
    for box in dialog.quant_boxes.values():
        box.setChecked(False)
    assert dialog.quants() == ["F16"]  # F16 alone: the backend's way to skip quantizing


def test_failed_selfcheck_says_why(
    qtbot, context, store: Store, demo_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
) -> None:

    from ui.item_models.model_tree import check_summary
    from ui.pages.models_page import ModelsPage

    why = ("MISMATCH: tokenizer differs: llama.cpp gives 21 tokens, transformers 20"
           " (llama.cpp added a BOS token at the start)")
    check = {"reference": "hf", "share": 1.0, "tokens": 72, "passed": False,
             "tokenizer_match": False, "summary": why}
    base = models.add_base_model(store, demo_model_dir, name="demo base")
    gguf = models.add_gguf(store, shared_exports(tmp_path_factory, demo_model_dir)["base"],
                           base.id, "F16", selfcheck=check, name="demo F16")
    page = ModelsPage(context)
    qtbot.addWidget(page)
    page.resize(1100, 600)
    qtbot.waitUntil(lambda: len(page.tree.roots()) == 1, timeout=10_000)
    item = page.tree.roots()[0].children[0]
    assert item.id == gguf.id
    assert item.tooltip(4) == why
    assert item.text(4) == "✗ tokenizer differs"
    page.tree.select_id(item.id)
    qtbot.waitUntil(lambda: "llama.cpp gives 21 tokens" in page.details.toPlainText(),
                    timeout=10_000)
    page.grab().save(str(tmp_path / "models-selfcheck-failed.png"))
    # A record stored before summaries were kept still reads in words.
    old = {"reference": "F16", "share": 0.62, "passed": False, "tokenizer_match": False}
    assert check_summary(old) == ("MISMATCH: 62% of greedy tokens agree with the F16 GGUF"
                                  " (the tokenizer differs)")
    page.shutdown()
