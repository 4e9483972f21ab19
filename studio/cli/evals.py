"""``tuning-studio evalset create|list`` and ``tuning-studio eval``: fixed prompt sets scored by
a grader, and a model's pass rate on one (with before/after against its parent)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from studio.errors import StudioError
from studio.evaluation.engines import model_files
from studio.evaluation.evalsets import create_eval_set, get_eval_set, list_eval_sets
from studio.evaluation.jobs import (
    EVAL_MODULE,
    EvalConfig,
    get_eval_run,
    latest_run,
    run_results,
    sync_eval_run,
    sync_eval_runs,
    unfinished_run,
)
from studio.evaluation.report import compare, wilson
from studio.events import Event, read_events
from studio.jobs.launch import log_tail, run_foreground, write_job
from studio.labels.store import Store
from studio.paths import DataPaths
from studio.registry.models import get_model


class EvalRunError(StudioError):
    """An eval run that could not start or did not finish."""


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
    run = subparsers.add_parser("eval", help="run a registered model over an eval set")
    run.add_argument("--set", required=True, dest="set_name", help="eval set name")
    run.add_argument("--model", required=True, help="registered model id")
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


def _config(args: argparse.Namespace, store: Store, set_id: int) -> EvalConfig:
    entry = get_model(store, args.model)
    files = model_files(store, entry.id, args.engine)
    busy = [r for r in sync_eval_runs(store) if r.set_id == set_id and r.model_id == entry.id]
    if busy:
        raise EvalRunError(f"eval run {busy[0].id} of this set on {entry.id} is still running"
                           f" (job folder {busy[0].job_dir}); wait for it or stop it")
    return EvalConfig(
        db=str(Path(store.db.conn.execute("PRAGMA database_list").fetchone()[2]).resolve()),
        set_name=args.set_name, model_id=entry.id, model_path=files.model_path,
        adapter_path=files.adapter_path, engine=files.engine,
        max_new_tokens=args.max_new_tokens, run_id=unfinished_run(store, set_id, entry.id))


def _eval(args: argparse.Namespace, store: Store, paths: DataPaths) -> int:
    eval_set = get_eval_set(store, args.set_name)
    config = _config(args, store, eval_set.id)
    job_dir = write_job(config, paths.root / "jobs", "eval")

    def show(event: Event) -> None:
        if not args.json and event.event == "progress":
            print(event.get("message", ""), file=sys.stderr)

    last = run_foreground(EVAL_MODULE, job_dir, show)
    if last is None or last.event != "finished":
        started = [e for e in read_events(job_dir / "events.jsonl") if e.event == "started"]
        if started:  # a crash leaves the row 'running': mark it failed, with the log's tail
            sync_eval_run(store, int(started[-1]["run_id"]))
        why = last.get("message", last.event) if last else \
            f"it crashed; see {job_dir}:\n{log_tail(job_dir, EVAL_MODULE)}"
        raise EvalRunError(f"the eval run did not finish: {why}")
    outcome = _outcome(store, int(last["run_id"]), eval_set.id, config.model_id)
    if args.json:
        print(json.dumps(outcome, indent=2))
    else:
        _print(outcome)
    return 0


def _outcome(store: Store, run_id: int, set_id: int, model_id: str) -> dict[str, Any]:
    results = run_results(store, run_id)
    interval = wilson(sum(r.passed for r in results), len(results))
    outcome: dict[str, Any] = {
        "run_id": run_id, "model": model_id, "engine": get_eval_run(store, run_id).engine,
        "pass_rate": interval.rate,
        "ci_low": interval.low, "ci_high": interval.high, "n": interval.n,
        "results": [vars(r) for r in results]}
    parent = get_model(store, model_id).parent_id
    before = latest_run(store, set_id, parent) if parent else None
    if before is not None:
        outcome["comparison"] = {"parent": parent, **compare(run_results(store, before),
                                                             results).as_dict()}
    return outcome


def _print(outcome: dict[str, Any]) -> None:
    print(f"pass rate {outcome['pass_rate']:.1%} (95% CI {outcome['ci_low']:.1%}-"
          f"{outcome['ci_high']:.1%}), n = {outcome['n']}, engine {outcome['engine']}")
    comparison = outcome.get("comparison")
    if comparison:
        before = comparison["before"]
        print(f"parent {comparison['parent']}: {before['rate']:.1%} on the same"
              f" {before['n']} prompts; {len(comparison['flips'])} flipped;"
              f" {comparison['verdict']}")
