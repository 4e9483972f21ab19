"""Which engine runs a registered model for evaluation: llama.cpp where a GGUF of it exists
(what the person will actually chat with and ship), otherwise transformers on the folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.db.store import Store
from studio.errors import StudioError
from studio.registry.models import ModelEntry, children, get_model

LLAMA_CPP = "llama.cpp"
TRANSFORMERS = "transformers"


class EngineError(StudioError):
    """A model that no engine can run (e.g. a LoRA GGUF whose base has no GGUF)."""


@dataclass(frozen=True)
class ModelFiles:
    """What an engine loads: a model (GGUF file or HF folder) and an optional adapter (a LoRA
    GGUF for llama.cpp, a PEFT folder for transformers). Paths are absolute."""

    engine: str
    model_path: str
    adapter_path: str | None = None


def _full_gguf(store: Store, model_id: str) -> str | None:
    """The newest existing full-model GGUF registered under ``model_id`` (or itself)."""
    entry = get_model(store, model_id)
    if entry.kind == "gguf":
        return entry.path if entry.meta.get("role") != "lora" and entry.exists else None
    found = [c for c in children(store, model_id)
             if c.kind == "gguf" and c.meta.get("role") != "lora" and c.exists]
    return found[-1].path if found else None


def _adapter_gguf(store: Store, adapter: ModelEntry) -> ModelFiles | None:
    """An adapter as GGUF: a merged copy's GGUF, else its LoRA GGUF on the parent's GGUF."""
    for merged in reversed([c for c in children(store, adapter.id) if c.kind == "merged"]):
        full = _full_gguf(store, merged.id)
        if full:
            return ModelFiles(LLAMA_CPP, _abs(full))
    loras = [c for c in children(store, adapter.id)
             if c.kind == "gguf" and c.meta.get("role") == "lora" and c.exists]
    base = _full_gguf(store, adapter.parent_id) if adapter.parent_id else None
    if loras and base:
        return ModelFiles(LLAMA_CPP, _abs(base), _abs(loras[-1].path))
    return None


def gguf_files(store: Store, model_id: str) -> ModelFiles | None:
    """How llama.cpp runs this model, or None when no GGUF of it is registered."""
    entry = get_model(store, model_id)
    if entry.kind == "adapter":
        return _adapter_gguf(store, entry)
    if entry.kind == "gguf" and entry.meta.get("role") == "lora":
        adapter = get_model(store, str(entry.parent_id))
        base = _full_gguf(store, str(adapter.parent_id)) if adapter.parent_id else None
        if base is None:
            raise EngineError(f"{entry.id} is a LoRA GGUF and its base has no GGUF; export"
                              " the base model to GGUF or evaluate the adapter instead")
        return ModelFiles(LLAMA_CPP, _abs(base), _abs(entry.path))
    full = _full_gguf(store, entry.id)
    return ModelFiles(LLAMA_CPP, _abs(full)) if full else None


def model_files(store: Store, model_id: str, engine: str = "auto") -> ModelFiles:
    """The files to evaluate ``model_id`` with: llama.cpp when a GGUF exists (``auto``),
    else transformers; ``engine`` forces one."""
    if engine not in ("auto", LLAMA_CPP, TRANSFORMERS):
        raise EngineError(f"engine is 'auto', {LLAMA_CPP!r} or {TRANSFORMERS!r}, not {engine!r}")
    if engine != TRANSFORMERS:
        found = gguf_files(store, model_id)
        if found is not None:
            return found
        if engine == LLAMA_CPP:
            raise EngineError(f"model {model_id} has no GGUF; export it first or use"
                              " transformers")
    entry = get_model(store, model_id)
    if entry.kind == "gguf":
        raise EngineError(f"{entry.id} is a GGUF file; transformers cannot run it")
    if entry.kind == "adapter":
        if not entry.parent_id:
            raise EngineError(f"adapter {entry.id} has no base model registered")
        base = get_model(store, entry.parent_id)
        return ModelFiles(TRANSFORMERS, _abs(base.path), _abs(entry.path))
    return ModelFiles(TRANSFORMERS, _abs(entry.path))


def _abs(path: str) -> str:
    return str(Path(path).resolve())
