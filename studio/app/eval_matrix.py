"""The regression matrix: every registered model against every eval set (the built-in general
set always among them), each cell a pass rate with its 95% interval, the engine and the grader
version, and, for a tuned model, whether it is significantly better or worse than its parent
on the same prompts through the same engine (paired McNemar, ``studio.evaluation.report``).

The Models page shows it (``ui/item_models/eval_matrix_model.py``) and ``tuning-studio eval
--matrix`` prints it after :func:`missing_cells` were evaluated; the Train page and the export
warn with :func:`regression_warning` before they start from a model flagged worse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.db.store import Store
from studio.errors import StudioError
from studio.evaluation.auto import eval_config, job_cost
from studio.evaluation.drift import Drift, all_drift
from studio.evaluation.evalsets import EvalSet, list_eval_sets
from studio.evaluation.general import ensure_general_set, matrix_sets
from studio.evaluation.jobs import EvalConfig, latest_run, sync_eval_runs
from studio.evaluation.report import Comparison
from studio.evaluation.summary import Score, comparison, latest_score
from studio.registry.models import ModelEntry, get_model, model_tree

SIGNIFICANT = 0.05


@dataclass(frozen=True)
class Cell:
    """One model on one set: its latest score and, for a tuned model whose parent answered
    the same prompts through the same engine, the paired comparison with the parent."""

    set_name: str
    score: Score | None = None
    graders: str = ""
    parent_run: int | None = None
    comparison: Comparison | None = None

    @property
    def mark(self) -> str:
        """'better', 'worse' or '' (no parent run to pair with, or no significant change)."""
        found = self.comparison
        if found is None or found.p_value >= SIGNIFICANT:
            return ""
        better = sum(f.better for f in found.flips)
        return "better" if better * 2 > len(found.flips) else "worse"

    def text(self) -> str:
        if self.score is None:
            return "—"
        arrow = {"better": " ▲", "worse": " ▼"}.get(self.mark, "")
        return self.score.text() + arrow

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"set": self.set_name, "mark": self.mark, "graders": self.graders}
        if self.score is not None:
            i = self.score.interval
            out.update(run_id=self.score.run_id, engine=self.score.engine, pass_rate=i.rate,
                       ci_low=i.low, ci_high=i.high, n=i.n)
        if self.comparison is not None:
            out["vs_parent"] = {"parent_run_id": self.parent_run, **self.comparison.as_dict()}
        return out


@dataclass(frozen=True)
class MatrixRow:
    model: ModelEntry
    depth: int  # in the lineage: 0 for a base model
    order: int  # lineage order (parents before their children)
    cells: dict[str, Cell] = field(default_factory=dict)
    drift: Drift | None = None

    def worse_sets(self) -> list[str]:
        return [name for name, cell in self.cells.items() if cell.mark == "worse"]


@dataclass(frozen=True)
class Matrix:
    sets: list[EvalSet]
    rows: list[MatrixRow]

    def as_dict(self) -> dict[str, Any]:
        return {"sets": [{"name": s.name, "grader": s.grader, "size": s.size}
                         for s in self.sets],
                "models": [{"id": r.model.id, "name": r.model.name, "kind": r.model.kind,
                            "parent_id": r.model.parent_id, "depth": r.depth,
                            "cells": [r.cells[s.name].as_dict() for s in self.sets],
                            "drift": None if r.drift is None else {
                                "kl": r.drift.kl, "nll_drop": r.drift.nll_drop,
                                "n_prompts": r.drift.n_prompts, "words": r.drift.words()}}
                           for r in self.rows]}


def matrix_models(store: Store) -> list[tuple[ModelEntry, int]]:
    """The rows, in lineage order: base models, adapters and stand-alone GGUFs; a GGUF or a
    merged copy exported from a model answers as that model (llama.cpp when it exists)."""
    rows: list[tuple[ModelEntry, int]] = []

    def visit(node: Any, depth: int) -> None:
        entry = node.entry
        copy = entry.parent_id is not None and entry.kind in ("gguf", "merged")
        if not copy:
            rows.append((entry, depth))
        for child in node.children:
            visit(child, depth if copy else depth + 1)

    for root in model_tree(store):
        visit(root, 0)
    return rows


def cell(store: Store, eval_set: EvalSet, entry: ModelEntry) -> Cell:
    if eval_set.id < 0:  # the general set, not created yet: nothing ran on it
        return Cell(eval_set.name)
    score = latest_score(store, eval_set.name, entry.id)
    if score is None:
        return Cell(eval_set.name)
    graders = ", ".join(r[0] or "" for r in store.db.execute(
        "SELECT DISTINCT grader FROM eval_results WHERE run_id = ?", [score.run_id]))
    parent = latest_run(store, eval_set.id, entry.parent_id, engine=score.engine) \
        if entry.parent_id and score.engine else None
    if parent is None:
        return Cell(eval_set.name, score, graders or eval_set.grader)
    return Cell(eval_set.name, score, graders or eval_set.grader, parent,
                comparison(store, parent, score.run_id))


def eval_matrix(store: Store) -> Matrix:
    """Every model against every set, as stored now (nothing is evaluated or written here)."""
    sync_eval_runs(store)  # a crashed run shows as failed, not as still going
    sets = matrix_sets(store)
    drift = all_drift(store)
    rows = [MatrixRow(entry, depth, order, {s.name: cell(store, s, entry) for s in sets},
                      drift.get(entry.id))
            for order, (entry, depth) in enumerate(matrix_models(store))]
    return Matrix(sets, rows)


def missing_cells(store: Store, max_new_tokens: int = 128) -> tuple[list[EvalConfig], list[str]]:
    """The eval jobs that fill the matrix, cheapest first, and the models that cannot run (in
    words). Each model answers through its own engine (llama.cpp where a GGUF exists), and its
    parent through that same engine too, so the paired comparison measures the training only.
    An unfinished run is resumed, not restarted."""
    ensure_general_set(store)
    sync_eval_runs(store)
    configs: dict[tuple[str, str, str], EvalConfig] = {}
    skipped: list[str] = []
    for entry, _ in matrix_models(store):
        for eval_set in list_eval_sets(store):
            try:
                mine = eval_config(store, eval_set.name, entry.id,
                                   max_new_tokens=max_new_tokens)
            except StudioError as error:
                skipped.append(f"{entry.name} on {eval_set.name}: {error}")
                continue
            wanted: list[tuple[str, EvalConfig | None]] = [(entry.id, mine)]
            if entry.parent_id:
                wanted.append((entry.parent_id, None))
            for model_id, config in wanted:
                key = (eval_set.name, model_id, mine.engine)
                if key in configs or latest_run(store, eval_set.id, model_id,
                                                engine=mine.engine) is not None:
                    continue
                try:
                    configs[key] = config or eval_config(store, eval_set.name, model_id,
                                                         mine.engine, max_new_tokens)
                except StudioError as error:
                    skipped.append(f"{model_id} on {eval_set.name} through {mine.engine}:"
                                   f" {error}")
    return sorted(configs.values(), key=lambda c: job_cost(store, c)), skipped


def worse_sets(store: Store, model_id: str) -> list[str]:
    """The sets on which ``model_id`` is significantly worse than its parent."""
    entry = get_model(store, model_id)
    if not entry.parent_id:
        return []
    return [s.name for s in list_eval_sets(store) if cell(store, s, entry).mark == "worse"]


def regression_warning(store: Store, model_id: str) -> str | None:
    """A sentence for the launch and export dialogs when the model is flagged worse than its
    own parent on some set; None when it is not."""
    found = worse_sets(store, model_id)
    if not found:
        return None
    return (f"This model is significantly worse than the model it was tuned from on"
            f" {', '.join(found)} (paired McNemar, p < {SIGNIFICANT}). See the regression"
            " matrix on the Models page for the prompts it now fails.")


def model_at_path(store: Store, path: str) -> str | None:
    """The registered model whose files are at ``path`` (a training run's starting model)."""
    wanted = str(Path(path).expanduser().resolve()) if path else ""
    for (model_id, model_path) in store.db.execute("SELECT id, path FROM models"):
        if model_path and str(Path(model_path).expanduser().resolve()) == wanted:
            return str(model_id)
    return None


def starting_model_warning(store: Store, model: str) -> str | None:
    """:func:`regression_warning` for a training config's ``model`` (a path or a model id)."""
    known = store.db.execute("SELECT 1 FROM models WHERE id = ?", [model]).fetchone()
    model_id = model if known else model_at_path(store, model)
    return regression_warning(store, model_id) if model_id else None
