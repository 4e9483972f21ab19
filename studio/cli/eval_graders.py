"""``tuning-studio grade`` and ``tuning-studio graders``: try a grader on one response."""

from __future__ import annotations

import argparse
import json
import sys

from studio.app.evaluate import SPEC_HELP, Grade, isolate, parse_spec
from studio.app.judge import is_machine_made
from studio.db.store import Store
from studio.errors import StudioError
from studio.paths import DataPaths


def add_grader_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``grade`` and ``graders`` to the CLI's sub-commands."""
    grade = subparsers.add_parser("grade", help="score one response with a grader; exit 0"
                                  " whatever the score")
    grade.add_argument("--grader", required=True, metavar="SPEC",
                       help="grader spec, e.g. numeric, exact, regex:PATTERN, contains:A|B,"
                       " json-schema:FILE, python:FILE, judge:MODEL_ID (see 'tuning-studio"
                       " graders')")
    grade.add_argument("--response", required=True, help="the response to score")
    grade.add_argument("--reference", default=None, help="the reference answer, if any")
    grade.add_argument("--prompt", default="", help="the prompt, for graders that read it")
    grade.add_argument("--json", action="store_true", help="print the score as JSON")
    graders = subparsers.add_parser("graders", help="list the grader specs")
    graders.add_argument("--json", action="store_true", help="print the list as JSON")


def run_grader_command(args: argparse.Namespace, paths: DataPaths) -> int | None:
    """Run ``grade`` or ``graders`` if it is the command given; None for any other command."""
    if args.command == "graders":
        if args.json:
            sys.stdout.write(json.dumps(SPEC_HELP, indent=2) + "\n")
        else:
            width = max(len(k) for k in SPEC_HELP)
            sys.stdout.write("".join(f"{k:<{width}}  {v}\n" for k, v in SPEC_HELP.items()))
        return 0
    if args.command != "grade":
        return None
    # The registry is opened only for a judge: the other graders work without a data folder.
    store = Store.open(paths.db) if "judge:" in args.grader else None
    try:
        # In a worker with the time limit: a backtracking regex is an answer, not a hang.
        grader = isolate(parse_spec(args.grader, store), keep_alive=False)
        result = grader.score(args.prompt, args.response, args.reference)
    except StudioError as error:
        sys.stderr.write(f"error: {error}\n")
        return 1
    finally:
        if store is not None:
            store.close()
    _show(args, grader.name, result, is_machine_made(grader))
    return 0


def _show(args: argparse.Namespace, name: str, result: Grade, machine_made: bool) -> None:
    if args.json:
        sys.stdout.write(json.dumps({"grader": name, "score": result.score,
                                     "passed": result.passed, "reason": result.reason,
                                     "machine_made": machine_made}) + "\n")
    else:
        sys.stdout.write(f"{result.score:g}\t{result.reason}\n")
