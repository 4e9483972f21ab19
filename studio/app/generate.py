"""Generate candidates to label: the one use case behind the Generate dialog and
``tuning-studio generate``.

Both pick prompts and a model, then call :func:`prepare_generation`, which validates the
config, keeps only the prompts that still lack candidates with these settings (so a second
run continues where the first stopped) and writes the ``backends.generate`` job folder. The
dialog runs the job with its ``JobRunner``, the CLI with ``run_foreground``.

The model runs through llama.cpp, so it needs a GGUF: the dialog offers the chat-ready
targets (``studio.registry.models.chat_targets``); the CLI names a registered model, and
:func:`generation_target` finds the GGUF that runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.candidates.best_of_n import PAIRS_FOLDER, best_of_n
from studio.candidates.estimate import Speed, estimate_text, measured_speed
from studio.candidates.generation import (
    MAX_CANDIDATES,
    GenerationConfig,
    create_job,
    pending_candidates,
)
from studio.db.store import Store
from studio.errors import StudioError
from studio.labels.queue import QueueFilter, filter_prompt_ids
from studio.paths import DataPaths
from studio.registry.models import ModelEntry, base_of, children, list_models


@dataclass(frozen=True)
class GenerationPlan:
    """What :func:`prepare_generation` decided: the job folder to run (None: nothing is
    missing), how many candidates it writes and for which prompts."""

    job: Path | None
    missing: int
    prompt_ids: list[int]


def prepare_generation(store: Store, paths: DataPaths, config: GenerationConfig,
                       limit: int | None = None) -> GenerationPlan:
    """Validate ``config``, narrow its prompts to those missing candidates (the first
    ``limit`` of them) and write the job folder under ``<data>/jobs`` when any are."""
    config.validate()
    pending = pending_candidates(store, config)
    prompts = sorted({prompt_id for prompt_id, _ in pending})
    if limit is not None:
        prompts = prompts[:max(limit, 0)]
        pending = [(prompt_id, index) for prompt_id, index in pending
                   if prompt_id in set(prompts)]
    if not pending:
        return GenerationPlan(None, 0, [])
    config.prompt_ids = prompts
    return GenerationPlan(create_job(paths.root / "jobs", config, paths.db), len(pending),
                          prompts)


def all_prompt_ids(store: Store) -> list[int]:
    """Every prompt, in id order (the CLI's scope, the dialog's "All prompts")."""
    return filter_prompt_ids(store, QueueFilter())


def generation_target(store: Store, entry: ModelEntry) -> tuple[str, str | None]:
    """(model GGUF, LoRA GGUF or None) that llama.cpp runs for ``entry``: a registered GGUF
    itself, a base model converted from a GGUF (its source file), or any model with an
    exported GGUF below it (an adapter's LoRA GGUF runs on its base's GGUF)."""
    if entry.kind == "gguf":
        if entry.meta.get("role") != "lora":
            return entry.path, None
        return _full_gguf(store, base_of(store, entry.id)), entry.path
    source = entry.meta.get("gguf")
    if entry.kind == "base" and isinstance(source, dict) and Path(source["path"]).is_file():
        return str(source["path"]), None
    ggufs = [c for c in children(store, entry.id) if c.kind == "gguf"]
    full = [g for g in ggufs if g.meta.get("role") != "lora"]
    if full:
        return full[-1].path, None
    loras = [g for g in ggufs if g.meta.get("role") == "lora"]
    if loras:
        return _full_gguf(store, base_of(store, entry.id)), loras[-1].path
    raise StudioError(f"model {entry.id} ({entry.name}) has no GGUF for llama.cpp yet: export it"
                      f" first with `tuning-studio export-model {entry.id}`")


def _full_gguf(store: Store, base: ModelEntry) -> str:
    for gguf in reversed(list_models(store, "gguf")):
        if gguf.parent_id == base.id and gguf.meta.get("role") != "lora":
            return gguf.path
    source = base.meta.get("gguf")
    if isinstance(source, dict) and Path(source["path"]).is_file():
        return str(source["path"])
    raise StudioError(f"the base model {base.name} has no full-model GGUF to apply the adapter"
                      f" to: export it first with `tuning-studio export-model {base.id}`")


# What the pages and the CLI take from here (the use cases above and the domain names they need).
__all__ = [
    "MAX_CANDIDATES",
    "PAIRS_FOLDER",
    "GenerationPlan",
    "Speed",
    "all_prompt_ids",
    "best_of_n",
    "estimate_text",
    "generation_target",
    "measured_speed",
    "prepare_generation",
]
