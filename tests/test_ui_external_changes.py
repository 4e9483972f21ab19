"""Writes by other processes reach the open window: the store worker watches PRAGMA data_version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.db.store import Store
from studio.paths import DataPaths
from studio.registry import models

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent

# What a training process does when it finishes: register its adapter in the shared database.
REGISTER = """
import sys
from studio.db.store import Store
from studio.registry import models
store = Store.open(sys.argv[1])
models.add_adapter(store, sys.argv[2], sys.argv[3], name="trained elsewhere")
store.close()
"""


@pytest.fixture
def context(qtbot, store: Store, data_paths: DataPaths, tmp_path: Path):
    from ui.context import AppContext

    ctx = AppContext(data_paths, settings_path=tmp_path / "settings.ini")
    yield ctx
    ctx.close()


def test_models_page_shows_an_adapter_registered_by_another_process(
    qtbot, context, store: Store, data_paths: DataPaths, demo_model_dir: Path, tmp_path: Path,
) -> None:
    from ui.pages.models_page import ModelsPage

    base = models.add_base_model(store, demo_model_dir, name="demo base")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}", encoding="utf-8")
    page = ModelsPage(context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: len(page.tree.rows()) == 1, timeout=5000)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # No announce() from anyone: the worker notices the other connection's commit.
    with qtbot.waitSignal(context.ops.external_write, timeout=10000):
        subprocess.run([sys.executable, "-c", REGISTER, str(data_paths.db), str(adapter),
                        base.id], env=env, check=True, timeout=120)
    qtbot.waitUntil(lambda: len(page.tree.rows()) == 2, timeout=5000)
    names = {item.text(0) for item in page.tree.rows()}
    assert "trained elsewhere" in names
