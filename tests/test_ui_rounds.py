"""The rounds view on the Models page over a real database: start round 1 from a base model,
link the finished run and its adapter, show reward accuracy and the blind win-rate vs the
parent, then "Next round" from the adapter with the generate dialog preset."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.data.snapshots import export_snapshot
from studio.db.records import now_iso
from studio.db.store import Store
from studio.registry import models
from studio.rounds import rounds
from studio.rounds.votes import Reply, record_vote
from ui.context import AppContext, Changes
from ui.pages.models_page import ModelsPage

__all__ = ["context"]
SHOTS = Path(os.environ.get("UI_SHOTS", "/tmp/ui-shots"))


def _finished_run(store: Store, base_id: str, snapshot_id: str, tmp_path: Path,
                  demo_model_dir: Path, demo_gguf: Path) -> models.ModelEntry:
    """What a finished round-1 training run leaves in the registry (run, adapter, export)."""
    store.db["runs"].insert({
        "id": "run-1", "method": "kto", "status": "completed", "config": "{}",
        "snapshot_id": snapshot_id, "parent_model_id": base_id, "run_dir": str(tmp_path),
        "metrics": json.dumps({"eval_rewards/accuracies": 0.75}), "created_at": now_iso()})
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    adapter = models.add_adapter(store, folder, base_id, run_id="run-1", name="KTO round 1")
    merged = models.add_merged(store, demo_model_dir, adapter.id, name="round 1 merged")
    copy = tmp_path / "round1-f16.gguf"  # its own file, as a real export writes
    shutil.copyfile(demo_gguf, copy)
    models.add_gguf(store, copy, merged.id, quant="F16", name="round 1 · F16")
    return adapter


def _generate(qtbot: QtBot, dialog: Any) -> None:
    """Generate one short candidate per prompt: the round starts with it."""
    dialog.n.setValue(1)
    dialog.max_tokens.setValue(4)
    with qtbot.waitSignal(dialog.runner.ended, timeout=120_000):
        with qtbot.waitSignal(dialog.began, timeout=10_000):
            dialog.start_button.click()


@pytest.fixture
def page(context: AppContext, qtbot: QtBot) -> ModelsPage:
    widget = ModelsPage(context)
    qtbot.addWidget(widget)
    widget.resize(1250, 760)
    widget.show()
    return widget


def test_two_rounds_on_the_models_page(page: ModelsPage, context: AppContext, store: Store,
                                       demo_model_dir: Path, demo_gguf: Path, tmp_path: Path,
                                       qtbot: QtBot) -> None:
    base = models.add_base_model(store, demo_model_dir, name="demo")
    models.add_gguf(store, demo_gguf, base.id, quant="F16")
    prompt = store.add_prompt("Hi?")
    store.label_thumb(store.add_response(prompt, "hello", origin="model"), "up", "ana")
    snapshot = export_snapshot(store, "kto", tmp_path / "snap")
    context.announce(Changes(models=True))
    view = page.rounds
    qtbot.waitUntil(lambda: len(page.tree.roots()) == 1, timeout=5000)
    assert "No rounds yet" in view.hint.text()
    assert not view.start_button.isEnabled()
    page.tree.select_id(page.tree.roots()[0].id)
    qtbot.waitUntil(view.start_button.isEnabled, timeout=5000)
    view.start_button.click()
    qtbot.waitUntil(lambda: view.dialog is not None, timeout=5000)
    dialog = view.dialog
    qtbot.waitUntil(lambda: dialog.model_box.count() > 0, timeout=5000)
    assert dialog.model_box.currentText() == "demo · F16"
    assert "Round 1" in dialog.findChild(type(view.hint)).text()
    _generate(qtbot, dialog)  # the round is created when generating starts
    qtbot.waitUntil(lambda: view.table.rowCount() == 1, timeout=5000)
    dialog.close()
    assert view.table.index(0, 4).data() == "not trained yet"

    _finished_run(store, base.id, snapshot.id, tmp_path, demo_model_dir, demo_gguf)
    for n in range(3):  # blind votes: round 1's model beats the base
        record_vote(store, [{"role": "user", "content": f"Hi {n}?"}],
                    Reply("good", "round 1 · F16"),
                    Reply("bad", "demo · F16"), "a", "ana", blind=True)
    context.announce(Changes(models=True, runs=True))
    qtbot.waitUntil(lambda: view.table.index(0, 4).data() == "KTO round 1", timeout=5000)
    row = [view.table.index(0, i).data() for i in range(8)]
    assert row[:3] == ["Round 1", "demo", "kto"]
    assert row[3].startswith(snapshot.id[:18])
    assert row[5] == "75%"
    assert row[6].startswith("100% (")
    assert "3 votes" in row[6]

    view.select_round(view.table.rows[0].round.id)
    assert view.next_button.isEnabled()
    view.dialog = None
    view.next_button.click()
    qtbot.waitUntil(lambda: view.dialog is not None, timeout=5000)
    dialog = view.dialog
    qtbot.waitUntil(lambda: dialog.model_box.count() > 0, timeout=5000)
    assert dialog.model_box.currentText() == "round 1 · F16"  # the tuned model, preselected
    _generate(qtbot, dialog)
    qtbot.waitUntil(lambda: view.table.rowCount() == 2, timeout=5000)
    second = rounds.list_rounds(store)[-1]
    assert (second.number, second.parent_round_id) == (2, 1)
    assert models.get_model(store, second.parent_model_id).name == "KTO round 1"
    assert dialog.scopes[0].caption == "Prompts of the previous round's snapshot"
    assert dialog.scopes[0].ids(store) == [prompt]
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SHOTS / "rounds-generate.png"))
    dialog.close()
    page.grab().save(str(SHOTS / "models-rounds.png"))
