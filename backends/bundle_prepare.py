"""Point a bundled run's config at this machine, before a launch script starts training.

    python -m backends.bundle_prepare RUN_DIR [--model PATH_OR_HUB_ID]

The bundle was written on another machine: its snapshot path and (for a local base model) its
model path mean nothing here. This rewrites both in ``RUN_DIR/config.json`` and refuses to go
on when the base model cannot be found, before any process of a multi-process launch starts.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from studio.registry.locate import is_hub_id
from studio.training.config import TrainConfig


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backends.bundle_prepare",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="the bundle's run folder")
    parser.add_argument("--model", default=None,
                        help="the base model on this machine: a folder or a hub id")
    return parser


def main(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir).resolve()
    path = run_dir / "config.json"
    config = TrainConfig.load(path)
    model = args.model or config.model
    if not is_hub_id(model) and not (Path(model).expanduser() / "config.json").is_file():
        sys.stderr.write(f"{path}, field 'model': {model} is not a model folder on this"
                         " machine; copy the base model here and run with MODEL=/its/path\n")
        return 2
    if not is_hub_id(model):
        model = str(Path(model).expanduser().resolve())
    values = {**config.to_dict(), "model": model, "snapshot_dir": str(run_dir / "snapshot")}
    TrainConfig.from_dict(values).save(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
