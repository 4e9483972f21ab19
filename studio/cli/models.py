"""``tuning-studio export-model``: export a registered (or any) model to GGUF from the shell.

Writes an export job and runs ``backends.export`` on it through the launcher, like the app
does, printing its events as they arrive; the backend registers the results in the data
folder's registry.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from studio.app.add_model import lineage_text
from studio.app.export import QUANT_TYPES, prepare_export
from studio.app.models import ModelNode, model_tree
from studio.db.store import Store
from studio.events import Event
from studio.jobs.launch import log_tail, run_foreground
from studio.paths import DataPaths

QUANTS = QUANT_TYPES


def add_model_commands(subparsers: Any) -> None:
    export = subparsers.add_parser(
        "export-model", help="merge an adapter and export it (or a model) to GGUF for llama.cpp")
    export.add_argument("source", help="a registered model id, an adapter folder or a model folder")
    export.add_argument("--quant", action="append", choices=QUANTS,
                        help="quantization besides F16; repeat for several (default: that of"
                        " the GGUF the base model came from, else Q4_K_M)")
    export.add_argument("--lora-gguf", action="store_true",
                        help="also write an adapter-only GGUF (adapters only)")
    export.add_argument("--out", type=Path, default=None,
                        help="job folder (default: a new folder under the data folder's exports/)")
    models_cmd = subparsers.add_parser("models", help="list the registered models as a tree")
    models_cmd.add_argument("--json", action="store_true", help="print JSON instead of a tree")


def run_model_command(args: argparse.Namespace, store: Store, paths: DataPaths) -> int | None:
    """Run a command added by :func:`add_model_commands`; None if it is not one of them."""
    if args.command == "export-model":
        return _export(args, store, paths)
    if args.command == "models":
        _print_tree(model_tree(store), args.json)
        return 0
    return None


def _export(args: argparse.Namespace, store: Store, paths: DataPaths) -> int:
    job = prepare_export(store, paths, args.source, args.quant, args.lora_gguf, args.out)
    last = run_foreground("export", job, _report)
    if last is None:
        sys.stderr.write(f"error: the export stopped without reporting (killed or crashed):\n"
                         f"{log_tail(job, 'export')}\n")
        return 1
    return {"finished": 0, "cancelled": 130}.get(last.event, 1)


def _report(event: Event) -> None:
    if event.event == "progress":
        _out(f"[{event['done'] + 1}/{event['total']}] {event['message']}")
    elif event.event == "finished":
        for output in event["outputs"]:
            check = output["selfcheck"]
            _out(f"{output['quant']:7} {output['path']}  self-check:"
                  f" {'ok' if check['passed'] else 'MISMATCH'} {check['share']:.0%}")
        _out(event["selfcheck_summary"])
    elif event.event in ("failed", "cancelled"):
        sys.stderr.write(f"error: {event['message']}\n")


def _print_tree(roots: list[ModelNode], as_json: bool) -> None:
    def show(node: ModelNode, depth: int) -> None:
        entry = node.entry
        origin = f"  ({lineage_text(entry.meta)})" if entry.kind == "base" else ""
        _out(f"{'  ' * depth}{entry.id}  {entry.kind:7} {entry.quant or '':7} {entry.name}"
             f"{origin}")
        for child in node.children:
            show(child, depth + 1)

    if as_json:
        _out(json.dumps([_with_lineage(root, n) for root in roots for n in root.walk()],
                        indent=1))
        return
    for root in roots:
        show(root, 0)


def _with_lineage(root: ModelNode, node: ModelNode) -> dict[str, Any]:
    """The entry, plus where its root came from ("from GGUF <file>, <quant>", ...) and the
    chain of ids from that root down to it."""
    chain = _chain(root, node.entry.id) or [node.entry.id]
    return {**node.entry.__dict__, "origin": lineage_text(root.entry.meta), "lineage": chain}


def _chain(node: ModelNode, target: str) -> list[str] | None:
    if node.entry.id == target:
        return [target]
    for child in node.children:
        found = _chain(child, target)
        if found:
            return [node.entry.id, *found]
    return None


def _out(text: str) -> None:
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()  # progress lines show while the job runs
