"""``tuning-studio generate``: candidates to label from any registered model, headless.

    tuning-studio generate --model base-1a2b3c --per-prompt 4 --limit 20

The model runs through llama.cpp, so it needs a GGUF: a registered GGUF itself, a base model
converted from a GGUF (its source file is used), or any model with an exported GGUF below it
(an adapter's LoRA GGUF runs on its base's GGUF). Prompts that already have this model's
candidates are skipped, so a second run continues where the first stopped.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from studio.candidates.generation import GenerationConfig, create_job, pending_candidates
from studio.cli.output import out, print_job_event
from studio.errors import StudioError
from studio.jobs.launch import run_foreground
from studio.labels.store import Store
from studio.paths import DataPaths
from studio.registry.models import ModelEntry, base_of, children, get_model, list_models


def add_generate_command(subparsers: Any) -> None:
    gen = subparsers.add_parser("generate", help="write candidates to label with a registered"
                                " model (llama.cpp, headless)")
    gen.add_argument("--model", required=True, metavar="ID",
                     help="a registered model id (see `tuning-studio models`)")
    gen.add_argument("--per-prompt", type=int, default=4, metavar="N",
                     help="candidates per prompt (1-8, default 4)")
    gen.add_argument("--limit", type=int, default=None, metavar="N",
                     help="at most this many prompts (default: all that lack candidates)")
    gen.add_argument("--max-tokens", type=int, default=256, help="longest candidate in tokens")
    gen.add_argument("--seed", type=int, default=0, help="base sampling seed")


def run_generate_command(args: argparse.Namespace, store: Store, paths: DataPaths) -> int | None:
    """Handle ``generate``; None for any other command."""
    if args.command != "generate":
        return None
    entry = get_model(store, args.model)
    model_path, lora_path = gguf_for(store, entry)
    config = GenerationConfig(model_path=model_path, model_name=entry.name, lora_path=lora_path,
                              n=args.per_prompt, max_tokens=args.max_tokens, seed=args.seed)
    config.prompt_ids = _prompts_to_do(store, config, args.limit)
    if not config.prompt_ids:
        out(f"nothing to do: every prompt has {args.per_prompt} candidates from {entry.name}")
        return 0
    job = create_job(paths.root / "jobs", config, paths.db)
    end = run_foreground("generate", job, print_job_event)
    if end is None or end.event != "finished":
        return 1
    out(f"stored {end.get('stored', 0)} candidates from {entry.name}"
         f" for {len(config.prompt_ids)} prompts in {end.get('wall_s', 0)} s")
    return 0


def gguf_for(store: Store, entry: ModelEntry) -> tuple[str, str | None]:
    """(model GGUF, LoRA GGUF or None) that llama.cpp runs for ``entry``."""
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


def _prompts_to_do(store: Store, config: GenerationConfig, limit: int | None) -> list[int]:
    config.prompt_ids = [int(r["id"]) for r in store.db.query("SELECT id FROM prompts ORDER BY id")]
    missing = sorted({prompt_id for prompt_id, _ in pending_candidates(store, config)})
    return missing[:limit] if limit is not None else missing
