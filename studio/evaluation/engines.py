"""Which engine runs a registered model for evaluation: llama.cpp where a GGUF runs it (what
the person will actually chat with and ship; which GGUF is the registry's one rule,
:mod:`studio.registry.gguf_resolve`), otherwise transformers on the folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.db.store import Store
from studio.errors import StudioError
from studio.registry.gguf_resolve import GGUFFiles, NoGGUFError, resolve_gguf
from studio.registry.models import get_model

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


def gguf_files(store: Store, model_id: str) -> ModelFiles | None:
    """How llama.cpp runs this model (the registry's one rule,
    :func:`studio.registry.gguf_resolve.resolve_gguf`), or None when nothing does."""
    try:
        return _llama_cpp(resolve_gguf(store, model_id))
    except NoGGUFError:
        return None


def model_files(store: Store, model_id: str, engine: str = "auto") -> ModelFiles:
    """The files to evaluate ``model_id`` with: llama.cpp when a GGUF runs it (``auto``),
    else transformers; ``engine`` forces one."""
    if engine not in ("auto", LLAMA_CPP, TRANSFORMERS):
        raise EngineError(f"engine is 'auto', {LLAMA_CPP!r} or {TRANSFORMERS!r}, not {engine!r}")
    why_not = ""
    if engine != TRANSFORMERS:
        try:
            return _llama_cpp(resolve_gguf(store, model_id))
        except NoGGUFError as error:
            if engine == LLAMA_CPP:
                raise EngineError(f"{error}; or evaluate it with transformers") from error
            why_not = f" ({error})"
    entry = get_model(store, model_id)
    if entry.kind == "gguf":
        raise EngineError(f"{entry.id} is a GGUF file; transformers cannot run it{why_not}")
    if entry.kind == "adapter":
        if not entry.parent_id:
            raise EngineError(f"adapter {entry.id} has no base model registered")
        base = get_model(store, entry.parent_id)
        return ModelFiles(TRANSFORMERS, _abs(base.path), _abs(entry.path))
    return ModelFiles(TRANSFORMERS, _abs(entry.path))


def _llama_cpp(found: GGUFFiles) -> ModelFiles:
    lora = found.lora_path
    return ModelFiles(LLAMA_CPP, _abs(found.model_path), _abs(lora) if lora else None)


def _abs(path: str) -> str:
    return str(Path(path).resolve())
