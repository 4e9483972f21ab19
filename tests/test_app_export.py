"""One export use case (studio.app.export.prepare_export) for the Models page and
``tuning-studio export-model``: defaults, adapter-only GGUFs, and what they are checked on."""

from __future__ import annotations

import json
from pathlib import Path

from studio.app.export import prepare_export
from studio.db.store import Store
from studio.paths import DataPaths
from studio.registry.models import add_adapter, add_base_model, add_gguf


def _config(job: Path) -> dict[str, object]:
    return json.loads((job / "config.json").read_text(encoding="utf-8"))


def test_defaults_and_the_adapter_only_check(store: Store, data_paths: DataPaths,
                                             demo_model_dir: Path, tmp_path: Path) -> None:
    base = add_base_model(store, demo_model_dir, name="demo")
    adapter_dir = tmp_path / "adapter"
    adapter_dir.mkdir()
    (adapter_dir / "adapter_config.json").write_text("{}")
    adapter = add_adapter(store, adapter_dir, base.id)
    whole = _config(prepare_export(store, data_paths, base.id))
    assert whole["quants"] == ["Q4_K_M"]  # no GGUF origin: the default quantisation
    assert whole["model"] == str(demo_model_dir.resolve())
    assert not whole["lora_gguf"]  # a whole model has no adapter-only GGUF
    assert _config(prepare_export(store, data_paths, base.id, lora_gguf=True))["lora_gguf"] \
        is False
    quantised = tmp_path / "base-Q4_0.gguf"
    quantised.write_bytes(b"GGUF")
    add_gguf(store, quantised, base.id, "Q4_0")
    unchecked = _config(prepare_export(store, data_paths, adapter.id, ["Q8_0"], lora_gguf=True))
    assert unchecked["adapter"] == str(adapter_dir.resolve())
    assert unchecked["lora_gguf"] is True
    assert unchecked["base_gguf"] is None  # a quantised base would fail the strict check
    full = tmp_path / "base-F16.gguf"
    full.write_bytes(b"GGUF")
    add_gguf(store, full, base.id, "F16")
    checked = _config(prepare_export(store, data_paths, adapter.id, ["Q8_0"], lora_gguf=True))
    assert checked["base_gguf"] == str(full.resolve())
