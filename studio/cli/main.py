"""The ``tuning-studio`` command line: a thin layer over the domain.

Commands that need the ML stack run a backend as a child process, like the app does.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from studio import __version__
from studio.app.add_model import create_demo_job
from studio.app.data import KINDS, export_snapshot, readiness
from studio.app.import_data import SHAPE_NAMES, ImportRate, ImportReport, import_path
from studio.cli.add_model import add_add_model_command, run_add_model_command
from studio.cli.best_of_n import add_best_of_n_command, run_best_of_n_command
from studio.cli.bundle import add_bundle_commands, run_bundle_command
from studio.cli.doctor import add_doctor_command, run_doctor_command
from studio.cli.eval_graders import add_grader_commands, run_grader_command
from studio.cli.evals import add_eval_commands, run_eval_command
from studio.cli.generate import add_generate_command, run_generate_command
from studio.cli.models import add_model_commands, run_model_command
from studio.cli.train import add_train_commands, run_train_command
from studio.db.store import Store
from studio.errors import StudioError
from studio.jobs.launch import log_tail, run_foreground
from studio.paths import DataPaths

PROGRESS_EVERY_S = 1.0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuning-studio",
        description="Label model outputs, tune a local model on them, export and compare."
        " Without a command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"tuning-studio {__version__}")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="data folder (default: the platform's user data folder, or"
                        " $TUNING_STUDIO_DATA_DIR)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    imp = commands.add_parser("import", help="import a dataset file, folder or hub id")
    imp.add_argument("path", help="a .jsonl/.json/.csv/.parquet/.txt file, a datasets"
                     " save_to_disk folder, or a Hugging Face dataset id")
    imp.add_argument("--format", default="auto", choices=["auto", *SHAPE_NAMES],
                     help="row shape (default: detected from the first row)")

    exp = commands.add_parser("export", help="export the labels as a TRL-ready snapshot")
    exp.add_argument("--kind", required=True, choices=KINDS, help="sft, dpo or kto")
    exp.add_argument("--out", required=True, type=Path, help="folder to write the snapshot to")
    exp.add_argument("--eval-fraction", type=float, default=0.1,
                     help="share of prompts held out for evaluation (default 0.1)")
    exp.add_argument("--seed", type=int, default=0, help="seed of the train/eval split")

    commands.add_parser("stats", help="counts and training readiness of the labels")

    demo = commands.add_parser("demo-model", help="build the tiny offline demo model")
    demo.add_argument("out", type=Path, help="folder to write the model to")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the weights")
    add_model_commands(commands)
    add_add_model_command(commands)
    add_generate_command(commands)
    add_doctor_command(commands)
    add_train_commands(commands)
    add_bundle_commands(commands)
    add_grader_commands(commands)
    add_eval_commands(commands)
    add_best_of_n_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    # Absolute before anything is written or launched: jobs run from another folder.
    paths = DataPaths.at(args.data_dir.expanduser().resolve() if args.data_dir else None)
    if args.command == "demo-model":
        return _demo_model(args, paths)
    graded = run_grader_command(args, paths)
    if graded is not None:
        return graded
    doctor = run_doctor_command(args, paths)
    if doctor is not None:
        return doctor
    store = Store.open(paths.db)
    try:
        result = run_bundle_command(args, store, paths)
        if result is None:
            result = run_model_command(args, store, paths)
        if result is None:
            result = run_add_model_command(args, store, paths)
        if result is None:
            result = run_generate_command(args, store, paths)
        if result is None:
            result = run_train_command(args, store, paths)
        if result is None:
            result = run_eval_command(args, store, paths)
        if result is None:
            result = run_best_of_n_command(args, store, paths)
        return result if result is not None else _run(args, store)
    except StudioError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _demo_model(args: argparse.Namespace, paths: DataPaths) -> int:
    """Build the demo model as a job (like the first start dialog); prints where it went."""
    job = create_demo_job(paths.root / "jobs", args.out, args.seed)
    last = run_foreground("demo_model", job, lambda event: None)
    if last is not None and last.event == "finished":
        print(f"demo model ({last.get('params'):,} parameters) in {last.get('path')}")
        return 0
    message = last.get("message") if last is not None else log_tail(job, "demo_model")
    print(f"error: the demo model was not built: {message}", file=sys.stderr)
    return 1


def _run(args: argparse.Namespace, store: Store) -> int:
    if args.command == "import":
        report = _import_with_progress(store, args.path, args.format)
        print(f"imported {report.rows} rows ({report.shape}) from {report.path.name}:"
              f" {report.prompts_added} new prompts, {report.responses_added} new responses,"
              f" {report.labels_added} new labels")
    elif args.command == "export":
        snapshot = export_snapshot(store, args.kind, args.out, args.eval_fraction, args.seed)
        print(f"snapshot {snapshot.id}: {snapshot.counts['train']} train,"
              f" {snapshot.counts['eval']} eval examples in {snapshot.path}")
    elif args.command == "stats":
        print(json.dumps({**store.counts(), **readiness(store).as_dict()}, indent=2))
    return 0


def _import_with_progress(store: Store, path: str, shape: str) -> ImportReport:
    """The import, printing rows, rows/s and time left about once a second. Ctrl+C rolls
    it back: nothing of it is stored."""
    rate, last = ImportRate(), [0.0]

    def progress(done: int, total: int) -> None:
        rate.update(done, total)
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S or done == total:
            last[0] = now
            print(f"  {rate.describe()}", flush=True)

    print(f"checking {path}…", flush=True)
    try:
        return import_path(store, path, shape, progress=progress)
    except KeyboardInterrupt:
        raise StudioError("import cancelled; nothing was stored") from None


if __name__ == "__main__":
    sys.exit(main())
