"""The model registry: every model the studio knows, with its lineage, in the ``models`` table.

Lineage is a tree through ``parent_id``: a base model (local folder, Hugging Face cache or hub
id) → adapters trained on it (``run_id`` names the training run) → a merged copy of base +
adapter → GGUF files (merged model quantized, or an adapter-only GGUF under its adapter).

    base = add_base_model(store, "/models/qwen")          # or a hub id "Qwen/Qwen2.5-0.5B"
    adapter = add_adapter(store, run_dir / "adapter", base.id, run_id=run.id)
    merged = add_merged(store, export_dir / "merged", adapter.id)
    gguf = add_gguf(store, export_dir / "model-Q4_K_M.gguf", merged.id, quant="Q4_K_M")

Every function returns the stored :class:`ModelEntry`. :func:`delete_model` removes a model and
its descendants, and the files of those that live inside the data folder (never a folder the
person registered from elsewhere). Reading one entry, a kind or a model's children lives in
:mod:`studio.registry.entries` (re-exported here); which GGUF runs a model, in
:mod:`studio.registry.gguf_resolve`.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.db.records import now_iso
from studio.db.store import Store
from studio.errors import StudioError
from studio.registry.entries import ModelEntry, children, get_model, list_models
from studio.registry.gguf_import import gguf_origin
from studio.registry.gguf_resolve import chat_ready
from studio.registry.locate import hf_cache_snapshot, is_hub_id
from studio.registry.safety import UnsafeModelError, check_model_folder

KINDS = ("base", "adapter", "merged", "gguf")
# What each kind may descend from: the lineage the registry refuses to scramble.
PARENT_KINDS: dict[str, tuple[str, ...]] = {
    "base": (),
    "adapter": ("base", "merged"),  # a merged model can be tuned again
    "merged": ("adapter",),
    "gguf": ("base", "adapter", "merged"),
}


class ModelRegistryError(StudioError):
    """A model that cannot be registered as given (missing files, wrong parent kind...)."""


@dataclass(frozen=True)
class ModelNode:
    """A model with its children, for the tree on the Models page."""

    entry: ModelEntry
    children: list[ModelNode] = field(default_factory=list)

    def walk(self) -> Iterable[ModelNode]:
        yield self
        for child in self.children:
            yield from child.walk()


# ---- registering ---------------------------------------------------------------------------
def add_base_model(store: Store, source: str | Path, name: str | None = None,
                   meta: dict[str, Any] | None = None) -> ModelEntry:
    """Register a base model: a local folder, or a hub id (resolved from the HF cache if there).

    Registering the same folder or hub id twice returns the existing entry. ``meta`` adds to
    what is recorded about its origin (a GGUF import records the file and its quantization).
    """
    text = str(source)
    local = Path(text).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ModelRegistryError(f"{local} holds no config.json: not a Hugging Face model")
        _refuse_custom_code(local)
        origin: dict[str, Any] = {"source": "folder", **gguf_origin(local)}
        path = str(local.resolve())
    elif is_hub_id(text):
        cached = hf_cache_snapshot(text)
        if cached is not None:
            _refuse_custom_code(cached)  # a downloaded hub model is a local folder like any
        path = str(cached) if cached else text
        origin = {"source": "hub", "hub_id": text, "cached": cached is not None}
    else:
        raise ModelRegistryError(f"{text} is neither a model folder nor a hub id like owner/name")
    existing = _find(store, "base", path)
    if existing is not None:
        add_source_gguf(store, existing)  # registered before its source GGUF counted as a copy
        return existing
    base = _insert(store, "base", name or _default_name(text), path,
                   meta={**origin, **(meta or {})})
    add_source_gguf(store, base)
    return base


def add_source_gguf(store: Store, base: ModelEntry) -> ModelEntry | None:
    """Register the GGUF a base model was converted from as its chat-ready copy: Generate,
    Compare and Eval run it without an export (the starter's Q4_1 is one). None when the
    base came from elsewhere, the file is gone, or it is registered already."""
    source = base.meta.get("gguf")
    path = source.get("path") if isinstance(source, dict) else None
    if not path or not Path(str(path)).is_file():
        return None
    file = str(Path(str(path)).resolve())
    if any(child.path == file for child in children(store, base.id)):
        return None
    quant = str(source.get("quant") or "GGUF") if isinstance(source, dict) else "GGUF"
    return add_gguf(store, file, base.id, quant, meta={"origin": "source"})


def add_adapter(
    store: Store, path: Path | str, base_id: str, run_id: str | None = None,
    name: str | None = None, meta: dict[str, Any] | None = None,
) -> ModelEntry:
    """Register a PEFT LoRA adapter folder trained on ``base_id`` (by run ``run_id``)."""
    folder = Path(path).expanduser().resolve()
    if not (folder / "adapter_config.json").is_file():
        raise ModelRegistryError(f"{folder} holds no adapter_config.json: not a PEFT adapter")
    _refuse_custom_code(folder, "adapter")  # the check every base model gets
    existing = _find(store, "adapter", str(folder))
    if existing is not None:
        return existing
    return _insert(store, "adapter", name or f"{get_model(store, base_id).name} + {folder.name}",
                   str(folder), parent_id=base_id, run_id=run_id, meta=meta,
                   size_bytes=folder_size(folder))


def add_merged(
    store: Store, path: Path | str, adapter_id: str, name: str | None = None,
    meta: dict[str, Any] | None = None,
) -> ModelEntry:
    """Register a merged (base + adapter) safetensors folder."""
    folder = Path(path).expanduser().resolve()
    if not (folder / "config.json").is_file():
        raise ModelRegistryError(f"{folder} holds no config.json: not a merged model")
    adapter = get_model(store, adapter_id)
    return _insert(store, "merged", name or f"{adapter.name} (merged)", str(folder),
                   parent_id=adapter_id, run_id=adapter.run_id, meta=meta,
                   size_bytes=folder_size(folder))


def add_gguf(
    store: Store, path: Path | str, parent_id: str, quant: str,
    selfcheck: dict[str, Any] | None = None, name: str | None = None,
    meta: dict[str, Any] | None = None,
) -> ModelEntry:
    """Register a GGUF file: a full model (parent base/merged) or a LoRA (parent adapter)."""
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise ModelRegistryError(f"{file} does not exist")
    parent = get_model(store, parent_id)
    role = "lora" if parent.kind == "adapter" else "model"
    return _insert(store, "gguf", name or f"{parent.name} · {quant}", str(file),
                   parent_id=parent_id, run_id=parent.run_id, quant=quant,
                   size_bytes=file.stat().st_size, selfcheck=selfcheck,
                   meta={"role": role, **(meta or {})})


def set_selfcheck(store: Store, model_id: str, result: dict[str, Any]) -> ModelEntry:
    get_model(store, model_id)
    with store.atomic():
        store.db.execute("UPDATE models SET selfcheck = ? WHERE id = ?",
                         [json.dumps(result), model_id])
    return get_model(store, model_id)


def rename_model(store: Store, model_id: str, name: str) -> ModelEntry:
    if not name.strip():
        raise ModelRegistryError("a model name cannot be empty")
    get_model(store, model_id)
    with store.atomic():
        store.db.execute("UPDATE models SET name = ? WHERE id = ?", [name.strip(), model_id])
    return get_model(store, model_id)


# ---- reading -------------------------------------------------------------------------------
def lineage(store: Store, model_id: str) -> list[ModelEntry]:
    """The model and its ancestors, root (the base) first."""
    chain = [get_model(store, model_id)]
    while chain[0].parent_id:
        chain.insert(0, get_model(store, chain[0].parent_id))
    return chain


def base_of(store: Store, model_id: str) -> ModelEntry:
    return lineage(store, model_id)[0]


def model_tree(store: Store) -> list[ModelNode]:
    """Every model as a forest: roots are base models (or orphans), children by creation."""
    entries = list_models(store)
    by_parent: dict[str | None, list[ModelEntry]] = {}
    known = {e.id for e in entries}
    for entry in entries:
        parent = entry.parent_id if entry.parent_id in known else None
        by_parent.setdefault(parent, []).append(entry)

    def build(entry: ModelEntry) -> ModelNode:
        return ModelNode(entry, [build(c) for c in by_parent.get(entry.id, [])])

    return [build(root) for root in by_parent.get(None, [])]


def model_details(store: Store, model_id: str) -> dict[str, Any]:
    """What the details panel shows: the entry, its lineage, and its training run + snapshot."""
    entry = get_model(store, model_id)
    details: dict[str, Any] = {"model": entry, "lineage": lineage(store, model_id)}
    if entry.run_id:
        run = _one(store, "runs", entry.run_id)
        if run is not None:
            details["run"] = {**run, "config": _json(run.get("config")),
                              "metrics": _json(run.get("metrics"))}
            if run.get("snapshot_id"):
                snapshot = _one(store, "snapshots", run["snapshot_id"])
                if snapshot is not None:
                    details["snapshot"] = {**snapshot, "counts": _json(snapshot.get("counts"))}
    return details


def chat_targets(store: Store) -> list[tuple[str, str, str | None]]:
    """What a chat pane can load: (label, model GGUF path, LoRA GGUF path or None), one per
    registered GGUF file, run the way :func:`studio.registry.gguf_resolve.resolve_gguf` runs it
    (a LoRA GGUF on its parent's GGUF, F16 first)."""
    return [(found.label, found.model_path, found.lora_path) for found in chat_ready(store)]


# ---- deleting ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeleteResult:
    model_ids: list[str]
    removed_paths: list[str]
    kept_paths: list[str]  # registered from outside the data folder: only unregistered


def delete_model(
    store: Store, model_id: str, data_root: Path | str, delete_files: bool = True
) -> DeleteResult:
    """Unregister a model and its descendants; remove their files inside ``data_root``."""
    doomed = [node.entry for node in _subtree(store, model_id).walk()]
    root = Path(data_root).resolve()
    removed: list[str] = []
    kept: list[str] = []
    with store.atomic():
        for entry in reversed(doomed):  # children first: the parent_id foreign key
            store.db.execute("DELETE FROM models WHERE id = ?", [entry.id])
    for entry in doomed:
        path = Path(entry.path)
        owned = path.exists() and path.resolve().is_relative_to(root)
        if delete_files and owned:
            _remove(path)
            removed.append(entry.path)
        elif path.exists():
            kept.append(entry.path)
    return DeleteResult([e.id for e in doomed], removed, kept)


def _subtree(store: Store, model_id: str) -> ModelNode:
    entry = get_model(store, model_id)
    return ModelNode(entry, [_subtree(store, c.id) for c in children(store, model_id)])


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink()
        sidecar = path.with_suffix(".Modelfile")
        if sidecar.exists():
            sidecar.unlink()


# ---- helpers -------------------------------------------------------------------------------
def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _refuse_custom_code(folder: Path, what: str = "model") -> None:
    """The shared safety check (custom code, pickle-only weights), as a registry error."""
    try:
        check_model_folder(folder, what)
    except UnsafeModelError as error:
        raise ModelRegistryError(f"Tuning Studio does not run a model's own code: {error}") \
            from None


def tuned_name(base_name: str, method: str, when: str, note: str = "") -> str:
    """A trained model's name, "<base> · SFT · <date> · <short note>", instead of a timestamp.

    ``when`` is an ISO time (its date is kept); the note is cut to a few words."""
    parts = [base_name, method.upper(), when[:10]]
    words = note.split()
    if words:
        parts.append(" ".join(words[:6]) + (" …" if len(words) > 6 else ""))
    return " · ".join(parts)


def _default_name(source: str) -> str:
    return Path(source.rstrip("/\\")).name or source


def _find(store: Store, kind: str, path: str) -> ModelEntry | None:
    rows = list(store.db.query("SELECT * FROM models WHERE kind = ? AND path = ?", [kind, path]))
    return ModelEntry.from_row(rows[0]) if rows else None


def _insert(store: Store, kind: str, name: str, path: str, **fields: Any) -> ModelEntry:
    parent_id = fields.get("parent_id")
    if parent_id is not None:
        parent = get_model(store, parent_id)
        if parent.kind not in PARENT_KINDS[kind]:
            raise ModelRegistryError(f"a {kind} model cannot descend from a {parent.kind} model")
    model_id = f"{kind}-{uuid.uuid4().hex[:10]}"
    row = {"id": model_id, "kind": kind, "name": name, "path": path, "created_at": now_iso(),
           **{k: v for k, v in fields.items() if k not in ("meta", "selfcheck")},
           "meta": json.dumps(fields.get("meta") or {}),
           "selfcheck": json.dumps(fields["selfcheck"]) if fields.get("selfcheck") else None}
    with store.atomic():
        store.db.table("models").insert(row)
    return get_model(store, model_id)


def _one(store: Store, table: str, row_id: str) -> dict[str, Any] | None:
    rows = list(store.db.query(f"SELECT * FROM {table} WHERE id = ?", [row_id]))
    return rows[0] if rows else None


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None
