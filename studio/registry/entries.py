"""The ``models`` table read back: :class:`ModelEntry` records, one by id, all of a kind, or
the children of one.

Split from :mod:`studio.registry.models` (which re-exports all of it) so that
:mod:`studio.registry.gguf_resolve` can read the registry while ``models`` offers the resolver's
chat targets: neither module imports the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.db.store import Store
from studio.errors import NotFoundError


@dataclass(frozen=True)
class ModelEntry:
    """One registered model. ``path`` is a folder (base, adapter, merged) or a .gguf file."""

    id: str
    kind: str
    name: str
    path: str
    parent_id: str | None = None
    run_id: str | None = None
    quant: str | None = None
    size_bytes: int | None = None
    selfcheck: dict[str, Any] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ModelEntry:
        return cls(
            id=row["id"], kind=row["kind"], name=row["name"], path=row["path"],
            parent_id=row["parent_id"], run_id=row["run_id"], quant=row["quant"],
            size_bytes=row["size_bytes"],
            selfcheck=json.loads(row["selfcheck"]) if row["selfcheck"] else None,
            meta=json.loads(row["meta"]) if row["meta"] else {}, created_at=row["created_at"],
        )

    @property
    def is_hub(self) -> bool:
        """A base model known only by its hub id (not found in a local folder or the cache)."""
        return self.meta.get("source") == "hub" and not Path(self.path).exists()

    @property
    def exists(self) -> bool:
        return Path(self.path).exists()

    @property
    def is_lora_gguf(self) -> bool:
        """An adapter-only GGUF: llama.cpp applies it on a full-model GGUF of the model the
        adapter was trained on (``add_gguf`` records the role from the parent's kind)."""
        return self.kind == "gguf" and self.meta.get("role") == "lora"

    @property
    def is_full_gguf(self) -> bool:
        """A GGUF llama.cpp runs on its own: a base or merged model converted, or quantized."""
        return self.kind == "gguf" and self.meta.get("role") != "lora"


def get_model(store: Store, model_id: str) -> ModelEntry:
    rows = list(store.db.query("SELECT * FROM models WHERE id = ?", [model_id]))
    if not rows:
        raise NotFoundError(f"there is no model with id {model_id}")
    return ModelEntry.from_row(rows[0])


def list_models(store: Store, kind: str | None = None) -> list[ModelEntry]:
    """Every registered model (of ``kind``), oldest first (registration order on a tie)."""
    sql, params = "SELECT * FROM models", []
    if kind:
        sql, params = sql + " WHERE kind = ?", [kind]
    rows = store.db.query(sql + " ORDER BY created_at, rowid", params)
    return [ModelEntry.from_row(r) for r in rows]


def children(store: Store, model_id: str) -> list[ModelEntry]:
    """The models registered directly under ``model_id``, oldest first."""
    rows = store.db.query("SELECT * FROM models WHERE parent_id = ?"
                          " ORDER BY created_at, rowid", [model_id])
    return [ModelEntry.from_row(r) for r in rows]
