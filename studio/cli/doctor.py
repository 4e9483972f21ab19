"""The ``tuning-studio doctor`` command, kept apart so ``studio/cli.py`` only adds two hooks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from studio.app.doctor import Status, format_report, run_checks
from studio.paths import DataPaths


def add_doctor_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``doctor`` to the CLI's sub-commands."""
    doctor = subparsers.add_parser(
        "doctor",
        help="check Python, torch and its device, llama.cpp, the GGUF converter and the data"
        " folder; print a fix for each problem",
    )
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")


def run_doctor_command(args: argparse.Namespace, paths: DataPaths) -> int | None:
    """Run ``doctor`` if it is the command given: 0 when nothing is a problem, else 1.

    Returns None for any other command, so the caller goes on with its own.
    """
    if args.command != "doctor":
        return None
    checks = run_checks(paths.root)
    if args.json:
        sys.stdout.write(json.dumps([c.as_dict() for c in checks], indent=2) + "\n")
    else:
        sys.stdout.write(format_report(checks) + "\n")
    return 1 if any(c.status is Status.PROBLEM for c in checks) else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m studio.cli.doctor``: the same report, for the installers."""
    parser = argparse.ArgumentParser(
        prog="python -m studio.cli.doctor", description="Check the Tuning Studio installation."
    )
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.add_argument("--data-dir", type=Path, default=None, help="the data folder to check")
    args = parser.parse_args(argv)
    args.command = "doctor"
    return run_doctor_command(args, DataPaths.at(args.data_dir)) or 0


if __name__ == "__main__":
    sys.exit(main())
