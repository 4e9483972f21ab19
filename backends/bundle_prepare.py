"""Point a bundled run's config at this machine, before a launch script starts training.

    python -m backends.bundle_prepare --job-dir DIR

``DIR/config.json`` is a :class:`studio.training.bundle_prepare.BundlePrepareConfig`. The bundle
was written on another machine: its snapshot path and (for a local base model) its model path
mean nothing here. This rewrites both in the run's ``config.json`` and refuses to go on when the
base model cannot be found, before any process of a multi-process launch starts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backends.lib.jobs import StopFlag, make_job_parser, run_job
from studio.events import EventWriter
from studio.jobs.config import load_config
from studio.registry.locate import is_hub_id
from studio.training.bundle_files import BundleError
from studio.training.bundle_prepare import MODULE, BundlePrepareConfig
from studio.training.config import TrainConfig


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser(__doc__.splitlines()[0])


def prepare(job_dir: Path, events: EventWriter, flag: StopFlag) -> None:
    job = load_config(BundlePrepareConfig, job_dir)
    run_dir = Path(job.run_dir)
    path = run_dir / "config.json"
    config = TrainConfig.load(path)
    model = job.model or config.model
    if not is_hub_id(model) and not (Path(model).expanduser() / "config.json").is_file():
        raise BundleError(f"{path}, field 'model': {model} is not a model folder on this"
                          " machine; copy the base model here and run with MODEL=/its/path")
    if not is_hub_id(model):
        model = str(Path(model).expanduser().resolve())
    values = {**config.to_dict(), "model": model, "snapshot_dir": str(run_dir / "snapshot")}
    TrainConfig.from_dict(values).save(path)
    events.emit("finished", run_dir=str(run_dir), model=model)


def main(args: argparse.Namespace) -> int:
    return run_job(args, MODULE, prepare)


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
