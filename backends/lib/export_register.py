"""Export, last step: record what was made in the model registry, all in one transaction.

The lineage is found or created: base (folder) → adapter → merged → GGUF files, and the
adapter-only GGUF under its adapter. Registering is the export's final act, so a cancelled or
failed export registers nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from studio.db.store import Store
from studio.registry import models
from studio.registry.export_config import ExportConfig


def register_outputs(config: ExportConfig, source: Path, result: dict[str, Any]) -> list[str]:
    """Register the export's outputs; returns the new model ids, parents first."""
    if config.db_path is None:
        return []
    store = Store.open(config.db_path)
    try:
        with store.atomic():
            return _register(store, config, source, result)
    finally:
        store.close()


def _register(store: Store, config: ExportConfig, source: Path,
              result: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    adapter_id = None
    if config.adapter_path is not None:
        adapter_id = config.parent_id or models.add_adapter(
            store, config.adapter_path, models.add_base_model(store, source).id).id
        parent_id = adapter_id
        if result.get("merged"):
            merged = models.add_merged(store, result["merged"], adapter_id,
                                       name=_merged_name(store, config, adapter_id))
            parent_id = merged.id
            ids.append(merged.id)
    else:
        parent_id = config.parent_id or models.add_base_model(store, source).id
    family = config.name or models.get_model(store, parent_id).name
    for output in result["outputs"]:
        entry = models.add_gguf(store, output["path"], parent_id, output["quant"],
                                selfcheck=output["selfcheck"],
                                name=f"{family} · {output['quant']}",
                                # A whole model even under an adapter (no merged folder kept):
                                # never to be loaded as a LoRA.
                                meta={"role": "model", "modelfile": output["modelfile"]})
        ids.append(entry.id)
    lora = result.get("lora")
    if lora and adapter_id:
        entry = models.add_gguf(store, lora["path"], adapter_id, "F16",
                                selfcheck=lora["selfcheck"],
                                name=f"{models.get_model(store, adapter_id).name} · LoRA F16")
        ids.append(entry.id)
    return ids


def _merged_name(store: Store, config: ExportConfig, adapter_id: str) -> str:
    return config.name or f"{models.get_model(store, adapter_id).name} (merged)"
