"""Generate candidates to label: the one use case behind the Generate dialog and
``tuning-studio generate``.

Both pick prompts and a model, then call :func:`prepare_generation`, which validates the
config, keeps only the prompts that still lack candidates with these settings (so a second
run continues where the first stopped) and writes the ``backends.generate`` job folder. The
dialog runs the job with its ``JobRunner``, the CLI with ``run_foreground``.

The model runs through llama.cpp, so it needs a GGUF: the dialog offers the chat-ready
targets (``studio.registry.models.chat_targets``); the CLI names a registered model, and
:func:`generation_target` finds the GGUF that runs it. Both follow the one rule of
:mod:`studio.registry.gguf_resolve`.
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
from studio.labels.queue import QueueFilter, filter_prompt_ids
from studio.paths import DataPaths
from studio.registry.gguf_resolve import resolve_gguf
from studio.registry.models import ModelEntry


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
    """(model GGUF, LoRA GGUF or None) that llama.cpp runs for ``entry``, by the registry's
    one rule (:func:`studio.registry.gguf_resolve.resolve_gguf`); raises
    :class:`~studio.registry.gguf_resolve.NoGGUFError` naming what to export when none does."""
    found = resolve_gguf(store, entry.id)
    return found.model_path, found.lora_path


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
