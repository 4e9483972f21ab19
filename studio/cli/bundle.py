"""``tuning-studio bundle RUN_ID --out DIR`` and ``tuning-studio runs --import DIR``: a run
leaves this machine as a bundle (accelerate / torchrun / Slurm / SkyPilot) and comes back."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from studio.app.bundle import import_bundle, write_bundle
from studio.db.store import Store
from studio.paths import DataPaths


def add_bundle_commands(subparsers: Any) -> None:
    bundle = subparsers.add_parser(
        "bundle", help="write a run as a self-contained bundle for accelerate/torchrun/Slurm")
    bundle.add_argument("run_id", metavar="RUN_ID", help="the run to bundle (see 'runs')")
    bundle.add_argument("--out", required=True, help="a new folder to write the bundle to")


def run_bundle_command(args: argparse.Namespace, store: Store, paths: DataPaths) -> int | None:
    """Handle ``bundle`` and ``runs --import``; None for anything else."""
    if args.command == "bundle":
        out = write_bundle(store, args.run_id, args.out)
        _out(f"bundle of run {args.run_id} written to {out}")
        _out(f"  on the training machine: CPU=1 NUM_PROCESSES=2 {out}/launch_accelerate.sh,"
             f" or {out}/launch_torchrun.sh; then: tuning-studio runs --import {out}")
        return 0
    if args.command == "runs" and getattr(args, "import_dir", None):
        run = import_bundle(store, paths, args.import_dir)
        _out(f"imported run {run.id} ({run.status}) from {args.import_dir}")
        return 0
    return None


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
