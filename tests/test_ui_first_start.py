"""First start, offline: "Start with a real small model" skips the unreachable hub, takes the
starter GGUF from the cache (here the tiny model's GGUF stands in for SmolLM2's, so the test
stays fast; the real file's conversion is covered by the ``real_model_dir`` fixture) and
registers it with a progress bar."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from studio.db.store import Store
from studio.paths import CACHE_DIR_ENV, DataPaths
from studio.registry import models
from studio.registry.starter import GGUF_NAME, STARTER_NAME
from ui.context import AppContext
from ui.dialogs.first_start import FirstStartDialog
from ui.main_window import MainWindow


def test_real_model_choice_works_offline(data_paths: DataPaths, store: Store, tmp_path: Path,
                                         demo_gguf: Path, monkeypatch: pytest.MonkeyPatch,
                                         qtbot: QtBot) -> None:
    cache = tmp_path / "cache"
    (cache / "starter").mkdir(parents=True)
    shutil.copy(demo_gguf, cache / "starter" / GGUF_NAME)
    monkeypatch.setenv(CACHE_DIR_ENV, str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    window = MainWindow(AppContext(data_paths, tmp_path / "s.ini"))
    qtbot.addWidget(window)
    dialog = FirstStartDialog(window)
    qtbot.addWidget(dialog)
    (button,) = [b for b in dialog.buttons if "real small model" in b.text()]
    button.click()
    assert dialog.starter_job is not None
    with qtbot.waitSignal(dialog.starter_job.finished, timeout=240_000):
        pass
    qtbot.waitUntil(lambda: not dialog.starter_job.running, timeout=10_000)
    (base,) = models.list_models(store, "base")
    assert base.name == STARTER_NAME
    assert base.meta["gguf"]["file"] == GGUF_NAME
    # Its GGUF is its chat-ready copy: Generate, Compare and Eval need no export (issue 21).
    (gguf,) = models.list_models(store, "gguf")
    assert gguf.parent_id == base.id
    assert [path for _, path, _ in models.chat_targets(store)] == [gguf.path]
    assert window.current_page_name() == "Label"
    window.close()
