"""``tuning-studio train`` and ``tuning-studio runs``: headless training and the run list.

    tuning-studio train --kind dpo --model ./my-model            # snapshot the labels, train
    tuning-studio train --method sft --model M --from mine --time-budget 20
    tuning-studio train --config run.json --detach               # start in the background
    tuning-studio train --method sft --model M --snapshot DIR --set max_steps=50
    tuning-studio runs [--json] [--cancel ID | --resume ID]

A foreground run prints one line per event of its ``events.jsonl`` (the run itself never
writes to this terminal, so killing the terminal or this command does not stop it); Ctrl+C
asks it to checkpoint and stop (resume later with ``runs --resume ID``). ``--detach`` starts
it in its own session and returns at once.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from studio.app.data import KINDS
from studio.app.evaluate import evaluate_before_after, get_eval_set, run_model
from studio.app.runs import (
    Run,
    cancel_run,
    describe,
    list_runs,
    metrics_summary,
    sync_all,
    sync_run,
)
from studio.app.train_checks import PROBE_MODULE, grpo_snapshot_fields, probe_checks, require_ok
from studio.app.training import (
    advance_queue,
    create_checked_run,
    create_probe,
    resume_training,
    snapshot_labels,
)
from studio.cli.config_flags import add_config_flags, config_overrides
from studio.db.store import Store
from studio.jobs.launch import follow, request_stop, run_foreground
from studio.paths import DataPaths
from studio.training.config import METHODS, PRESETS, ConfigError, TrainConfig


def add_train_commands(subparsers: Any) -> None:
    train = subparsers.add_parser("train",
                                  help="train SFT/DPO/KTO/SimPO/ORPO on the labels, or GRPO"
                                  " with graders (headless)")
    train.add_argument("--config", type=Path, help="a config.json (TrainConfig fields) to run")
    train.add_argument("--method", choices=METHODS,
                       help="sft, dpo, kto, simpo, orpo or grpo (default: --kind); simpo and"
                       " orpo train on --kind dpo pairs, grpo on --prompts with --grader")
    train.add_argument("--model", help="base model folder or cached hub id")
    source = train.add_mutually_exclusive_group()
    source.add_argument("--snapshot", type=Path, help="an exported snapshot folder to train on")
    source.add_argument("--kind", choices=KINDS,
                        help="snapshot the current labels of this kind and train on them")
    train.add_argument("--preset", choices=tuple(PRESETS), default=None,
                       help="quick, balanced or thorough (default: balanced)")
    train.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                       help="override a config field, e.g. --set max_steps=50 (repeatable)")
    train.add_argument("--from", dest="train_from", metavar="mine|all|TAG|SOURCE",
                       help="which labels to train on: mine (made in the app, not imported),"
                       " all, a tag, a source such as import:file.json, or evalset:NAME"
                       " (default: mine once you made enough labels for the method, else"
                       " all); for grpo the same as --prompts")
    train.add_argument("--time-budget", type=float, metavar="MINUTES", default=None,
                       help="train for about this many minutes: the run times one step here"
                       " and fits its steps and evaluation (default: 60 on a CPU, no limit"
                       " on a GPU; 0: no limit)")
    train.add_argument("--grader", action="append", default=[], metavar="SPEC",
                       help="grpo: a grader spec scoring each sampled answer (repeatable;"
                       " weights with --set reward_weights=[1,0.5])")
    train.add_argument("--prompts", metavar="TAG|SOURCE|all",
                       help="grpo: the stored prompts to practise on: a tag, a source, all,"
                       " or evalset:NAME, the eval set's training counterpart (eval prompts"
                       " never)")
    train.add_argument("--no-probe", action="store_true",
                       help="grpo: skip sampling the base model before launch (the probe"
                       " reports its pass rate with the graders)")
    train.add_argument("--detach", action="store_true",
                       help="start in the background and return; it survives this terminal")
    train.add_argument("--eval-set", metavar="NAME", default=None,
                       help="after training, evaluate the new model and its parent on this"
                       " eval set and print the before/after")
    # Fields a flag above already sets keep that flag (--model, --from, --grader, ...).
    add_config_flags(train, TrainConfig, "training settings (each also works as --set"
                     " FIELD=VALUE; the Train page shows the same help)",
                     # db: the run folder's database, written by the app, never a setting
                     skip=frozenset({"method", "model", "preset", "snapshot_dir", "db",
                                     "train_from", "time_budget_minutes", "graders",
                                     "prompts"}))
    runs = subparsers.add_parser("runs", help="list training runs; cancel or resume one")
    runs.add_argument("--json", action="store_true", help="print the runs as JSON")
    action = runs.add_mutually_exclusive_group()
    action.add_argument("--cancel", metavar="RUN_ID", help="checkpoint and stop a run")
    action.add_argument("--import", dest="import_dir", metavar="DIR",
                        help="register a run bundle's run (see 'bundle'), its metrics and adapter")
    action.add_argument("--resume", metavar="RUN_ID",
                        help="continue a cancelled or failed run from its last checkpoint")


def run_train_command(args: argparse.Namespace, store: Store, paths: DataPaths) -> int | None:
    """Handle ``train`` and ``runs``; None for any other command."""
    if args.command == "train":
        return _train(args, store, paths)
    if args.command == "runs":
        return _runs(args, store, paths)
    return None


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def build_config(args: argparse.Namespace, store: Store, paths: DataPaths) -> TrainConfig:
    """The run's config from --config and/or flags; --kind exports a fresh snapshot."""
    if args.config:
        data = TrainConfig.load(args.config).to_dict()
        data.update(PRESETS[args.preset] if args.preset else {})
    else:
        method = args.method or args.kind
        if not method:
            raise ConfigError("train: give --method, --kind or --config")
        data = TrainConfig.for_method(method, "", args.preset or "balanced").to_dict()
    data["method"] = args.method or args.kind or data["method"]
    data["model"] = args.model or data["model"]
    data["preset"] = args.preset or data["preset"]
    known = {f.name for f in fields(TrainConfig)}
    for item in [*args.set, *config_overrides(args)]:
        name, sep, raw = item.partition("=")
        if not sep or name not in known:
            raise ConfigError(f"--set {item}: expected FIELD=VALUE with a TrainConfig field")
        data[name] = _parse_value(raw)
    if args.time_budget is not None:
        data["time_budget_minutes"] = args.time_budget
    if data["method"] == "grpo" and not args.config:
        data.update(grpo_snapshot_fields(store, paths, args.grader,
                                         args.prompts or args.train_from))
    elif args.kind or (args.train_from and not args.snapshot):
        config = TrainConfig.from_dict({**data, "train_from": args.train_from
                                        or data.get("train_from", "")}, "train")
        data.update(snapshot_labels(store, paths, config).to_dict())
    elif args.snapshot:
        data["snapshot_dir"] = str(args.snapshot)
    if not data.get("snapshot_dir"):
        raise ConfigError("train: give --snapshot DIR, --kind KIND or a config with"
                          " snapshot_dir")
    return TrainConfig.from_dict(data, "train")


def _train(args: argparse.Namespace, store: Store, paths: DataPaths) -> int:
    if args.eval_set:
        get_eval_set(store, args.eval_set)  # a typo fails now, not after the training
        if args.detach:
            raise ConfigError("--eval-set needs a foreground run; without --detach, or run"
                              " 'tuning-studio eval' when the run is done")
    config = build_config(args, store, paths)
    launch = create_checked_run(store, paths, config)
    for check in launch.checks:
        _out(str(check))
    require_ok(launch.checks)
    run = launch.run
    assert run is not None  # require_ok raised on any error
    if config.method == "grpo" and not args.no_probe:
        # The run is queued, not started: the probe's notes come before it trains.
        _probe(store, paths, config)
    _out(f"run {run.id} created in {run.run_dir}")
    # The queue's one door (the Train page's too); a foreground run claims its own run.
    started = advance_queue(store, paths, run_id=None if args.detach else run.id)
    if started is None or started.id != run.id:
        _out("another run is training; this one is queued and starts after it")
        return 0
    if args.detach:
        _out(f"training in the background (pid {started.pid}); follow it with"
             f" 'tuning-studio runs' or {run.dir.events}")
        return 0
    code = _foreground(started, store)
    if code == 0 and args.eval_set and sync_run(store, run.id).status == "completed":
        _after_training_eval(store, paths, args.eval_set, run.id)
    return code


def _probe(store: Store, paths: DataPaths, config: TrainConfig) -> None:
    """GRPO's pre-flight probe (the Train page's use case), in the foreground."""
    probe = create_probe(store, paths, config)
    checks = probe.checks
    if probe.job_dir is not None:
        _out(f"probing the base model: sampling {probe.prompts} prompts ...")
        checks = probe_checks(run_foreground(PROBE_MODULE, probe.job_dir, lambda event: None))
    for check in checks:
        _out(str(check))


def _after_training_eval(store: Store, paths: DataPaths, set_name: str, run_id: str) -> None:
    model_id = run_model(store, run_id)
    _out(f"evaluating {model_id} and its parent on eval set {set_name!r} ...")
    found = evaluate_before_after(store, paths.root / "jobs", set_name, model_id,
                                  lambda event: None)
    if found is not None:
        _out(found.summary())


def _foreground(started: Run, store: Store) -> int:
    """Follow a run started detached (it outlives this command) to its end."""
    run = started.dir
    while True:
        try:
            last = follow(run.path, None, lambda event: _out(describe(event)),
                          is_alive=run.is_alive)
            break
        except KeyboardInterrupt:
            _out("stopping: saving a checkpoint ...")
            request_stop(run.path, started.pid)
    sync_run(store, started.id)
    if last is None:
        _out(f"the training process stopped without reporting; see {run.log}")
        return 1
    return 0 if last.event in ("finished", "cancelled") else 1


def _runs(args: argparse.Namespace, store: Store, paths: DataPaths) -> int:
    sync_all(store)
    if args.cancel:
        run = cancel_run(store, args.cancel)
        _out(f"run {run.id}: {run.status}" + (" (stopping at the next step)"
                                              if run.status == "running" else ""))
        return 0
    if args.resume:
        resumed = resume_training(store, paths, args.resume)
        _out(f"run {args.resume} " + ("resumed in the background"
                                      if resumed.status == "running" else "queued"))
        return 0
    runs = [sync_run(store, run.id) for run in list_runs(store)]
    if args.json:
        _out(json.dumps([{"id": r.id, "method": r.method, "status": r.status,
                          "model": r.base_model, "metrics": r.metrics, "error": r.error,
                          "run_dir": str(r.run_dir)} for r in runs], indent=2))
        return 0
    for run in runs:
        summary = run.error or metrics_summary(run.metrics)
        _out(f"{run.id}  {run.method:<3}  {run.status:<9}  {summary}")
    if not runs:
        _out("no runs yet; start one with 'tuning-studio train'")
    return 0
