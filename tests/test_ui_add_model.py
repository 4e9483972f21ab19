"""The Add base model dialog: GGUFs found on disk with their facts, refusals on the row, and
a real conversion (the tiny model's GGUF) registered as a base model."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.registry import models
from ui.context import AppContext
from ui.dialogs.add_model_dialog import AddModelDialog

__all__ = ["context"]


@pytest.fixture
def lmstudio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_gguf: Path) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    folder = tmp_path / "home" / ".lmstudio" / "models" / "me" / "demo"
    folder.mkdir(parents=True)
    (folder / "demo-F16.gguf").write_bytes(demo_gguf.read_bytes())
    (folder / "cut-Q4_K_M.gguf").write_bytes(demo_gguf.read_bytes()[:300_000])
    return folder


def test_found_ggufs_are_described_and_one_is_converted(
        context: AppContext, store: Store, lmstudio: Path, qtbot: QtBot) -> None:
    dialog = AddModelDialog(context)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.table.topLevelItemCount() == 2, timeout=10_000)
    rows = {dialog.table.topLevelItem(i).text(0): dialog.table.topLevelItem(i)
            for i in range(2)}
    cut, good = rows["cut-Q4_K_M"], rows["demo-F16"]
    assert [good.text(c) for c in (1, 2, 4, 7)] == ["LM Studio", "llama", "F16", "yes"]
    assert cut.text(7) == "no"
    dialog.table.setCurrentItem(cut)
    assert "truncated" in dialog.message.text()
    assert not dialog.add_button.isEnabled()
    dialog.table.setCurrentItem(good)
    assert dialog.add_button.isEnabled()
    with qtbot.waitSignal(dialog.runner.finished, timeout=240_000):
        dialog.add_button.click()
    qtbot.waitUntil(lambda: not dialog.runner.running, timeout=10_000)
    # the base, and its source GGUF as a chat-ready child (no export needed to chat with it)
    (base,) = [m for m in models.list_models(store) if m.kind == "base"]
    assert base.meta["gguf"]["file"] == "demo-F16.gguf"
    assert [m.parent_id for m in models.list_models(store) if m.kind == "gguf"] == [base.id]
    assert "Added as a base model" in dialog.message.text()
