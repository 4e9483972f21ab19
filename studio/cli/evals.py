"""``tuning-studio evalset create|list`` and ``tuning-studio eval``: fixed prompt sets scored by
a grader, and a model's pass rate on one (with before/after against its parent)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from studio.app.evaluate import (
    EvalSetError,
    create_eval_set,
    eval_config,
    get_eval_set,
    list_eval_sets,
    run_job,
    run_outcome,
)
from studio.cli.eval_matrix import run_matrix
from studio.db.store import Store
from studio.events import Event
from studio.paths import DataPaths


def add_eval_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``evalset`` and ``eval`` to the CLI's sub-commands."""
    evalset = subparsers.add_parser("evalset", help="create or list eval sets")
    actions = evalset.add_subparsers(dest="evalset_command", metavar="ACTION", required=True,
                                     help="create or list")
    create = actions.add_parser("create", help="create an eval set from one source")
    create.add_argument("name", help="a unique name for the set")
    source = create.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-file", type=Path, help="JSONL/CSV with question (or prompt)"
                        " and optional answer (or reference) fields")
    source.add_argument("--from-snapshot", type=Path, help="a snapshot folder: its eval prompts")
    source.add_argument("--tag", help="every prompt with this tag")
    create.add_argument("--grader", required=True, metavar="SPEC",
                        help="grader spec (see 'tuning-studio graders')")
    actions.add_parser("list", help="list the eval sets")
    run = subparsers.add_parser("eval", help="run a registered model over an eval set, or"
                                " every model over every set (--matrix)")
    run.add_argument("--set", dest="set_name", help="eval set name (without --matrix)")
    run.add_argument("--model", help="registered model id (without --matrix)")
    run.add_argument("--matrix", action="store_true",
                     help="every model x every eval set (the built-in 'general' set too):"
                     " evaluate the missing cells, measure drift, then print the matrix")
    run.add_argument("--no-run", action="store_true",
                     help="with --matrix: print what is stored, evaluate nothing")
    run.add_argument("--no-drift", action="store_true",
                     help="with --matrix: do not measure the drift of tuned models")
    run.add_argument("--max-new-tokens", type=int, default=128,
                     help="longest answer per prompt (default 128)")
    run.add_argument("--engine", default="auto", choices=["auto", "llama.cpp", "transformers"],
                     help="auto: llama.cpp where a GGUF of the model exists, else transformers")
    run.add_argument("--json", action="store_true", help="print the outcome as JSON")


def run_eval_command(args: argparse.Namespace, store: Store, paths: DataPaths) -> int | None:
    """Run ``evalset``/``eval`` if it is the command given; None for any other command."""
    if args.command == "evalset" and args.evalset_command == "create":
        made = create_eval_set(store, args.name, args.grader, from_file=args.from_file,
                               from_snapshot=args.from_snapshot, tag=args.tag)
        print(f"eval set {made.name}: {made.size} prompts, grader {made.grader}")
        return 0
    if args.command == "evalset":
        for found in list_eval_sets(store):
            print(f"{found.name}\t{found.size} prompts\t{found.grader}\t{found.created_at}")
        return 0
    if args.command != "eval":
        return None
    return _eval(args, store, paths)


def _eval(args: argparse.Namespace, store: Store, paths: DataPaths) -> int:
    if args.matrix:
        return run_matrix(args, store, paths)
    if not args.set_name or not args.model:
        raise EvalSetError("eval needs --set and --model (or --matrix for every model and set)")
    get_eval_set(store, args.set_name)
    config = eval_config(store, args.set_name, args.model, args.engine, args.max_new_tokens)

    def show(event: Event) -> None:
        if not args.json and event.event == "progress":
            print(event.get("message", ""), file=sys.stderr)

    run_id = run_job(store, paths.root / "jobs", config, show)
    outcome = run_outcome(store, run_id)
    if args.json:
        print(json.dumps(outcome, indent=2))
    else:
        _print(outcome)
    return 0


def _print(outcome: dict[str, Any]) -> None:
    print(f"pass rate {outcome['pass_rate']:.1%} (95% CI {outcome['ci_low']:.1%}-"
          f"{outcome['ci_high']:.1%}), n = {outcome['n']}, engine {outcome['engine']}")
    comparison = outcome.get("comparison")
    if comparison:
        before = comparison["before"]
        print(f"parent {comparison['parent']}: {before['rate']:.1%} on the same"
              f" {before['n']} prompts; {len(comparison['flips'])} flipped;"
              f" {comparison['verdict']}")
