"""``tuning-studio generate``: candidates to label from any registered model, headless.

    tuning-studio generate --model base-1a2b3c --per-prompt 4 --limit 20

The use case is :mod:`studio.app.generate`, the same the Generate dialog runs: the model
needs a GGUF (see :func:`studio.app.generate.generation_target`), and prompts that already
have this model's candidates are skipped, so a second run continues where the first stopped.
The flags' help is the :class:`GenerationConfig` fields' own.
"""

from __future__ import annotations

import argparse
from typing import Any

from studio.app.generate import (
    GenerationConfig,
    all_prompt_ids,
    generation_target,
    prepare_generation,
)
from studio.app.models import get_model
from studio.cli.output import out, print_job_event
from studio.db.store import Store
from studio.jobs.config import field_help
from studio.jobs.launch import run_foreground
from studio.paths import DataPaths


def add_generate_command(subparsers: Any) -> None:
    gen = subparsers.add_parser("generate", help="write candidates to label with a registered"
                                " model (llama.cpp, headless)")
    gen.add_argument("--model", required=True, metavar="ID",
                     help="a registered model id (see `tuning-studio models`)")
    gen.add_argument("--per-prompt", type=int, default=4, metavar="N",
                     help=_help("n"))
    gen.add_argument("--limit", type=int, default=None, metavar="N",
                     help="at most this many prompts (default: all that lack candidates)")
    gen.add_argument("--max-tokens", type=int, default=256, help=_help("max_tokens"))
    gen.add_argument("--seed", type=int, default=0, help=_help("seed"))


def _help(name: str) -> str:
    return field_help(GenerationConfig, name).replace("%", "%%")  # argparse formats help


def run_generate_command(args: argparse.Namespace, store: Store, paths: DataPaths) -> int | None:
    """Handle ``generate``; None for any other command."""
    if args.command != "generate":
        return None
    entry = get_model(store, args.model)
    model_path, lora_path = generation_target(store, entry)
    config = GenerationConfig(model_path=model_path, model_name=entry.name, lora_path=lora_path,
                              prompt_ids=all_prompt_ids(store), n=args.per_prompt,
                              max_tokens=args.max_tokens, seed=args.seed)
    plan = prepare_generation(store, paths, config, args.limit)
    if plan.job is None:
        out(f"nothing to do: every prompt has {args.per_prompt} candidates from {entry.name}")
        return 0
    end = run_foreground("generate", plan.job, print_job_event)
    if end is None or end.event != "finished":
        return 1
    out(f"stored {end.get('stored', 0)} candidates from {entry.name}"
        f" for {len(plan.prompt_ids)} prompts in {end.get('wall_s', 0)} s")
    return 0
