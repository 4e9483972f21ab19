"""``tuning-studio best-of-n``: the rejection-sampling SFT snapshot from stored candidates.

    tuning-studio best-of-n --grader numeric --out ./winners [--pairs] [--model NAME ...]

Per prompt with two or more candidates it keeps the best (the person's pairwise choice where
there is one, else the grader's top score) and writes an SFT snapshot; ``--pairs`` adds DPO
pairs best vs worst in ``DIR/pairs``, marked machine-judged where the grader decided.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from studio.app.data import load_manifest
from studio.app.generate import PAIRS_FOLDER, best_of_n
from studio.db.store import Store
from studio.paths import DataPaths


def add_best_of_n_command(subparsers: Any) -> None:
    command = subparsers.add_parser(
        "best-of-n", help="keep the best stored candidate per prompt (by a grader or your"
        " pairwise choices) as an SFT snapshot")
    command.add_argument("--grader", required=True, metavar="SPEC",
                         help="grader spec that scores the candidates (see 'graders')")
    command.add_argument("--out", required=True, type=Path, help="snapshot folder to write")
    command.add_argument("--pairs", action="store_true",
                         help="also write DPO pairs best vs worst to DIR/pairs")
    command.add_argument("--model", action="append", default=None, metavar="NAME",
                         help="only candidates of this model (repeatable: a committee);"
                         " default: every model")
    command.add_argument("--eval-fraction", type=float, default=0.0,
                         help="share of prompts held out in eval.jsonl (default 0: measure"
                         " with an eval set instead)")


def run_best_of_n_command(args: argparse.Namespace, store: Store,
                          paths: DataPaths) -> int | None:
    """Handle ``best-of-n``; None for any other command."""
    if args.command != "best-of-n":
        return None
    snapshot = best_of_n(store, args.grader, args.out, args.pairs, args.model,
                         args.eval_fraction)
    manifest = load_manifest(snapshot.path)
    lines = [f"snapshot {snapshot.id}: {snapshot.counts['train']} train,"
             f" {snapshot.counts['eval']} eval winners in {snapshot.path}",
             f"  {manifest['prompts_with_candidates']} prompts with candidates;"
             f" {manifest['dropped_no_passing_candidate']} dropped (no candidate passed);"
             f" {manifest['judged_by_person']} judged by your pairwise choices"]
    if args.pairs:
        pairs = load_manifest(snapshot.path / PAIRS_FOLDER)
        lines.append(f"  DPO pairs: {pairs['counts']['train'] + pairs['counts']['eval']} in"
                     f" {snapshot.path / PAIRS_FOLDER}"
                     + (" (machine-judged)" if pairs.get("machine_judged") else ""))
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
