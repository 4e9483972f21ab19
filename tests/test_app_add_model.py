"""Adding a model decides in one place (studio.app.add_model) what each source takes; the Add
model dialog, the first-start panel and ``tuning-studio add-model`` all carry out that plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.app.add_model import plan_add_model, plan_starter
from studio.db.store import Store
from studio.paths import CACHE_DIR_ENV, DataPaths
from studio.registry.models import add_base_model
from studio.registry.starter import starter_folder


def test_each_source_gets_its_plan(store: Store, data_paths: DataPaths, demo_model_dir: Path,
                                   demo_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    convert = plan_add_model(store, data_paths, demo_gguf)
    assert convert.module == "gguf_import"
    assert convert.entry is None
    assert convert.job is not None
    assert (convert.job / "config.json").is_file()
    # A GGUF converted before is taken as it is: the dialog used to convert it again.
    base = add_base_model(store, demo_model_dir, name="from gguf",
                          meta={"gguf": {"path": str(demo_gguf.resolve())}})
    again = plan_add_model(store, data_paths, demo_gguf)
    assert again.job is None
    assert again.entry is not None
    assert again.entry.id == base.id
    folder = plan_add_model(store, data_paths, demo_model_dir)
    assert folder.job is None
    assert folder.entry is not None
    assert folder.entry.id == base.id
    fetch = plan_add_model(store, data_paths, "someone/not-in-the-cache")
    assert fetch.module == "fetch_model"
    assert fetch.job is not None


def test_the_starter_converts_once_per_machine(store: Store, data_paths: DataPaths,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    plan = plan_starter(store, data_paths)
    assert plan.module == "gguf_import"
    assert plan.job is not None
    config = (plan.job / "config.json").read_text(encoding="utf-8")
    # Into the machine's starter folder, never the data folder (540 MB per data folder).
    assert str(starter_folder()) in config
    assert str(data_paths.models) not in config
