"""``tuning-studio eval --matrix [--json]``: evaluate every missing cell of the regression
matrix (each model and its parent through the same engine; an interrupted run resumes), then
measure the drift of each tuned model that has none yet, then print the matrix."""

from __future__ import annotations

import argparse
import json
import sys

from studio.app.eval_matrix import Matrix, eval_matrix, missing_cells
from studio.app.evaluate import all_drift, drift_config, run_drift, run_job
from studio.db.store import Store
from studio.errors import StudioError
from studio.events import Event
from studio.paths import DataPaths


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def fill_matrix(store: Store, paths: DataPaths, max_new_tokens: int, drift: bool) -> int:
    """Run the missing cells (cheapest first) and the missing drift scores; returns how many
    jobs failed (each failure is said, and the rest still run)."""
    configs, skipped = missing_cells(store, max_new_tokens)
    for line in skipped:
        _say(f"skipped: {line}")
    failed = 0
    for index, config in enumerate(configs, start=1):
        head = f"[{index}/{len(configs)}] {config.model_id} on {config.set_name} ({config.engine})"
        _say(head)

        def show(event: Event, head: str = head) -> None:
            if event.event == "progress":
                _say(f"  {head}: {event.get('message', '')}")

        try:
            run_job(store, paths.root / "jobs", config, show)
        except StudioError as error:
            failed += 1
            _say(f"  failed: {error}")
    if drift:
        failed += _fill_drift(store, paths)
    return failed


def _progress(event: Event) -> None:
    if event.event == "progress":
        _say(f"  {event.get('message', '')}")


def _fill_drift(store: Store, paths: DataPaths) -> int:
    done = all_drift(store)
    failed = 0
    for row in eval_matrix(store).rows:
        if row.model.parent_id is None or row.model.id in done:
            continue
        try:
            config = drift_config(store, row.model.id)
        except StudioError as error:
            _say(f"drift of {row.model.name} skipped: {error}")
            continue
        _say(f"drift of {row.model.name} ({len(config.prompt_ids)} untrained prompts)")
        try:
            found = run_drift(store, paths.root / "jobs", config, _progress)
            _say(f"  {found.text()}")
        except StudioError as error:
            failed += 1
            _say(f"  failed: {error}")
    return failed


def matrix_text(matrix: Matrix) -> str:
    """The matrix as a plain table: rows in lineage order, a column per set, then drift."""
    names = [("  " * r.depth + r.model.name)[:40] for r in matrix.rows]
    width = max([len("model"), *map(len, names)])
    heads = [s.name[:28] for s in matrix.sets]
    cells = [[r.cells[s.name].text() for s in matrix.sets] for r in matrix.rows]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(heads)]
    lines = ["  ".join(["model".ljust(width), *(h.ljust(w) for h, w in zip(heads, widths,
                                                                            strict=True)),
                        "drift"])]
    for row, name, texts in zip(matrix.rows, names, cells, strict=True):
        drift = f"{row.drift.kl:.3f} ({row.drift.words()})" if row.drift else "—"
        lines.append("  ".join([name.ljust(width), *(t.ljust(w) for t, w in
                                                     zip(texts, widths, strict=True)), drift]))
    lines.append("")
    for eval_set in matrix.sets:
        engines = sorted({c.score.engine or "transformers" for r in matrix.rows
                          if (c := r.cells[eval_set.name]).score is not None})
        lines.append(f"{eval_set.name}: {eval_set.size} prompts, grader {eval_set.grader},"
                     f" engines {', '.join(engines) or '—'}")
    lines.append("▲/▼: significantly better/worse than the parent on the same prompts (paired"
                 " McNemar, p < 0.05).")
    for row in matrix.rows:
        for name in row.worse_sets():
            lines.append(f"{row.model.name} got worse on {name}: see the prompts it now fails"
                         f" with 'tuning-studio eval --set {name} --model {row.model.id}"
                         " --json' (or the Models page)")
    return "\n".join(lines)


def run_matrix(args: argparse.Namespace, store: Store, paths: DataPaths) -> int:
    failed = 0 if args.no_run else fill_matrix(store, paths, args.max_new_tokens,
                                                not args.no_drift)
    matrix = eval_matrix(store)
    print(json.dumps(matrix.as_dict(), indent=2) if args.json else matrix_text(matrix))
    return 1 if failed else 0
