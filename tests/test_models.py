"""The model registry: lineage, tree, details and deletion with files (real SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.db.store import Store
from studio.errors import NotFoundError
from studio.paths import DataPaths
from studio.registry import models


def _hf_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text("{}")
    return path


def _adapter_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "adapter_config.json").write_text("{}")
    (path / "adapter_model.safetensors").write_bytes(b"x" * 100)
    return path


def _chain(store: Store, data_paths: DataPaths, tmp_path: Path) -> dict[str, models.ModelEntry]:
    base = models.add_base_model(store, _hf_folder(tmp_path / "outside" / "tiny"))
    adapter = models.add_adapter(store, _adapter_folder(data_paths.runs / "r1" / "adapter"),
                                 base.id)
    merged = models.add_merged(store, _hf_folder(data_paths.exports / "e1" / "merged"),
                               adapter.id)
    gguf_file = data_paths.exports / "e1" / "model-F16.gguf"
    gguf_file.write_bytes(b"GGUF" + b"\0" * 60)
    gguf = models.add_gguf(store, gguf_file, merged.id, "F16", selfcheck={"match_share": 1.0})
    lora_file = data_paths.exports / "e1" / "lora-F16.gguf"
    lora_file.write_bytes(b"GGUF")
    base_file = data_paths.exports / "e0.gguf"
    base_file.write_bytes(b"GGUF")
    base_gguf = models.add_gguf(store, base_file, base.id, "F16")
    lora = models.add_gguf(store, lora_file, adapter.id, "F16")
    return {"base": base, "adapter": adapter, "merged": merged, "gguf": gguf, "lora": lora,
            "base_gguf": base_gguf}


def test_lineage_and_tree(store: Store, data_paths: DataPaths, tmp_path: Path) -> None:
    chain = _chain(store, data_paths, tmp_path)
    assert [e.kind for e in models.lineage(store, chain["gguf"].id)] == [
        "base", "adapter", "merged", "gguf"]
    assert chain["gguf"].size_bytes == 64
    assert chain["gguf"].selfcheck == {"match_share": 1.0}
    assert chain["lora"].meta["role"] == "lora"
    tree = models.model_tree(store)
    assert len(tree) == 1
    assert [n.entry.kind for n in tree[0].walk()] == ["base", "adapter", "merged", "gguf",
                                                      "gguf", "gguf"]
    assert models.base_of(store, chain["lora"].id).id == chain["base"].id


def test_chat_targets_offer_base_plus_adapter(
    store: Store, data_paths: DataPaths, tmp_path: Path
) -> None:
    chain = _chain(store, data_paths, tmp_path)
    targets = models.chat_targets(store)
    assert (chain["gguf"].name, chain["gguf"].path, None) in targets
    assert any(lora == chain["lora"].path and path == chain["base_gguf"].path
               for _, path, lora in targets)


def test_registering_twice_returns_the_same_entry(store: Store, tmp_path: Path) -> None:
    folder = _hf_folder(tmp_path / "m")
    assert models.add_base_model(store, folder).id == models.add_base_model(store, folder).id


def test_hub_id_is_resolved_from_the_cache(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    offline = models.add_base_model(store, "someone/not-cached")
    assert offline.is_hub
    assert offline.meta == {"source": "hub", "hub_id": "someone/not-cached", "cached": False}
    _hf_folder(tmp_path / "hub" / "models--Qwen--Tiny" / "snapshots" / "abc")
    cached = models.add_base_model(store, "Qwen/Tiny")
    assert cached.path.endswith("abc")
    assert cached.meta["cached"] is True


def test_bad_registrations_name_the_problem(store: Store, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(models.ModelRegistryError, match=r"config\.json"):
        models.add_base_model(store, empty)
    with pytest.raises(models.ModelRegistryError, match="neither"):
        models.add_base_model(store, "not a model")
    base = models.add_base_model(store, _hf_folder(tmp_path / "b"))
    with pytest.raises(models.ModelRegistryError, match=r"adapter_config\.json"):
        models.add_adapter(store, empty, base.id)
    with pytest.raises(models.ModelRegistryError, match="cannot descend"):
        models.add_merged(store, _hf_folder(tmp_path / "m"), base.id)
    with pytest.raises(NotFoundError):
        models.get_model(store, "nope")


def test_delete_removes_descendants_and_owned_files_only(
    store: Store, data_paths: DataPaths, tmp_path: Path
) -> None:
    chain = _chain(store, data_paths, tmp_path)
    Path(chain["gguf"].path).with_suffix(".Modelfile").write_text("FROM x")
    result = models.delete_model(store, chain["adapter"].id, data_paths.root)
    assert set(result.model_ids) == {chain[k].id for k in ("adapter", "merged", "gguf", "lora")}
    assert not Path(chain["merged"].path).exists()
    assert not Path(chain["gguf"].path).with_suffix(".Modelfile").exists()
    assert [e.id for e in models.list_models(store)] == [chain["base"].id,
                                                         chain["base_gguf"].id]
    outside = models.delete_model(store, chain["base"].id, data_paths.root)
    assert outside.kept_paths == [chain["base"].path]
    assert Path(chain["base"].path).is_dir()
    assert models.list_models(store) == []


def test_details_show_run_and_snapshot(store: Store, data_paths: DataPaths, tmp_path: Path) -> None:
    store.db["snapshots"].insert({"id": "s1", "kind": "sft", "path": "p", "content_hash": "h",
                                  "counts": json.dumps({"train": 9}), "created_at": "t"})
    store.db["runs"].insert({"id": "run1", "method": "sft", "status": "completed",
                             "config": json.dumps({"lr": 1e-4}), "snapshot_id": "s1",
                             "metrics": json.dumps({"loss": 0.5}), "created_at": "t"})
    base = models.add_base_model(store, _hf_folder(tmp_path / "b"))
    adapter = models.add_adapter(store, _adapter_folder(data_paths.runs / "run1" / "adapter"),
                                 base.id, run_id="run1")
    details = models.model_details(store, adapter.id)
    assert details["run"]["config"] == {"lr": 1e-4}
    assert details["run"]["metrics"] == {"loss": 0.5}
    assert details["snapshot"]["counts"] == {"train": 9}
