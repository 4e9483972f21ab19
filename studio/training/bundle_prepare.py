"""Point a bundled run at the machine it trains on: the ``bundle_prepare`` job and its start.

A bundle is written on one machine and trained on another, where its snapshot path and (for a
local base model) its model path mean nothing. Before a launch script starts any process of a
multi-process run, it calls :func:`prepare_bundle_run`, which starts the job like every other
(config dataclass → job folder → ``python -m backends.bundle_prepare --job-dir DIR``). The job
rewrites both paths in the run's ``config.json``, or refuses when the base model is missing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from studio.events import Event
from studio.jobs.launch import run_foreground, write_job
from studio.training.bundle_files import BundleError

MODULE = "bundle_prepare"


@dataclass
class BundlePrepareConfig:
    run_dir: str = field(default="", metadata={
        "help": "The bundle's run folder on this machine (absolute path); its config.json is"
        " rewritten."})
    model: str | None = field(default=None, metadata={
        "help": "The base model on this machine: a folder (absolute path) or a hub id;"
        " none: the model the run was configured with."})


def prepare_bundle_run(run_dir: Path, model: str | None = None) -> None:
    """Run the ``bundle_prepare`` job on ``run_dir`` (its job folder goes beside it, in
    ``jobs/``) and wait for it; raises :class:`BundleError` with the job's message when it
    refuses."""
    run_dir = Path(run_dir).expanduser().resolve()
    config = BundlePrepareConfig(run_dir=str(run_dir), model=model or None)
    job = write_job(config, run_dir.parent / "jobs", MODULE)
    last = run_foreground(MODULE, job, _ignore)
    if last is None or last.event != "finished":
        why = last.get("message") if last is not None else f"it ended without a word (see" \
            f" {job / (MODULE + '.log')})"
        raise BundleError(f"preparing {run_dir} failed: {why}")


def launch_script_main(argv: Sequence[str]) -> int:
    """What a bundle's launch script runs: ``RUN_DIR [MODEL]``; says why it refused on stderr."""
    try:
        prepare_bundle_run(Path(argv[0]), argv[1] if len(argv) > 1 else None)
    except BundleError as error:
        sys.stderr.write(f"{error}\n")
        return 2
    return 0


def _ignore(event: Event) -> None:
    """The job only rewrites a file: its last event is all the launch script needs."""
