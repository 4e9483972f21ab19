"""What the CLI, the report view and the Models page show of eval runs: a run's outcome (pass
rate with interval, before/after against the parent, flipped prompts) and each model's latest
score per eval set (the score across rounds is ``studio.rounds.scores``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.db.store import Store
from studio.evaluation.evalsets import get_eval_set
from studio.evaluation.jobs import (
    get_eval_run,
    parent_run,
    result_details,
    run_results,
    sync_eval_runs,
)
from studio.evaluation.report import Comparison, Interval, compare, wilson
from studio.registry.models import get_model


@dataclass(frozen=True)
class Score:
    """A model's latest completed run on one eval set."""

    set_name: str
    model_id: str
    run_id: int
    engine: str | None
    interval: Interval

    def text(self) -> str:
        i = self.interval
        return f"{i.rate:.0%} ({i.low:.0%}-{i.high:.0%}, n={i.n})"


def run_interval(store: Store, run_id: int) -> Interval:
    results = run_results(store, run_id)
    return wilson(sum(r.passed for r in results), len(results))


def comparison(store: Store, before_run: int, after_run: int) -> Comparison:
    return compare(run_results(store, before_run), run_results(store, after_run))


def run_outcome(store: Store, run_id: int) -> dict[str, Any]:
    """A run's report as plain data (``eval --json``): pass rate with its 95% interval, the
    engine, per-prompt results, and the comparison with the parent model's latest run."""
    run = get_eval_run(store, run_id)
    results = run_results(store, run_id)
    details = result_details(store, run_id)
    interval = wilson(sum(r.passed for r in results), len(results))
    outcome: dict[str, Any] = {
        "run_id": run_id, "model": run.model_id, "engine": run.engine,
        "pass_rate": interval.rate, "ci_low": interval.low, "ci_high": interval.high,
        "n": interval.n, "results": [{**vars(r), **details.get(r.key, {})} for r in results]}
    parent = get_model(store, run.model_id).parent_id
    before = parent_run(store, run.set_id, parent, run.engine) if parent else None
    if before is not None:
        outcome["comparison"] = {"parent": parent, "parent_run_id": before,
                                 **comparison(store, before, run_id).as_dict()}
    return outcome


def latest_score(store: Store, set_name: str, model_id: str,
                 engine: str | None = None) -> Score | None:
    """The latest score; with ``engine``, preferably one that engine answered."""
    eval_set = get_eval_set(store, set_name)
    run_id = parent_run(store, eval_set.id, model_id, engine)
    if run_id is None:
        return None
    return Score(set_name, model_id, run_id, get_eval_run(store, run_id).engine,
                 run_interval(store, run_id))


def latest_scores(store: Store) -> dict[str, list[Score]]:
    """Per model id, its latest completed score on each eval set (for the Models page)."""
    sync_eval_runs(store)  # a crashed run must not look like it is still going
    rows = store.db.execute(
        "SELECT r.model_id, s.name, MAX(r.id) FROM eval_runs r JOIN eval_sets s ON"
        " s.id = r.set_id WHERE r.status = 'completed' GROUP BY r.model_id, s.id"
        " ORDER BY s.name").fetchall()
    scores: dict[str, list[Score]] = {}
    for model_id, set_name, run_id in rows:
        run = get_eval_run(store, int(run_id))
        scores.setdefault(model_id, []).append(
            Score(set_name, model_id, int(run_id), run.engine, run_interval(store, int(run_id))))
    return scores


def verdict_words(found: Comparison, before: str = "before", after: str = "after") -> str:
    """The paired test's verdict as a sentence a person can act on."""
    better = sum(f.better for f in found.flips)
    worse = len(found.flips) - better
    if not found.flips:
        return (f"No prompt changed result between {before} and {after}: no evidence of a"
                " difference.")
    if found.p_value >= 0.05:
        return (f"{after} passes {better} prompt(s) that {before} failed and fails {worse} that"
                f" it passed; a difference this size is likely chance (McNemar p ="
                f" {found.p_value:.2g}). Add prompts to the set to tell.")
    word = "better" if better > worse else "worse"
    return (f"{after} is {word} than {before}: {better} prompt(s) up, {worse} down; unlikely"
            f" to be chance (McNemar p = {found.p_value:.2g}).")


@dataclass(frozen=True)
class EvalReport:
    """What the report view shows for one model on one set: its score and, when its parent
    was evaluated too, the parent's score, the flipped prompts and the verdict."""

    set_name: str
    model_id: str
    model_name: str
    score: Score | None
    parent_id: str | None = None
    parent_name: str | None = None
    parent_score: Score | None = None
    comparison: Comparison | None = None

    @property
    def verdict(self) -> str:
        if self.comparison is None:
            return ("Evaluate the parent model on this set too to see before/after." if
                    self.parent_id else "A base model: there is no before to compare with.")
        return verdict_words(self.comparison, self.parent_name or "before", self.model_name)


def eval_report(store: Store, set_name: str, model_id: str) -> EvalReport:
    sync_eval_runs(store)  # a crashed run shows as failed, not as still going
    entry = get_model(store, model_id)
    score = latest_score(store, set_name, model_id)
    if not entry.parent_id:
        return EvalReport(set_name, model_id, entry.name, score)
    parent = get_model(store, entry.parent_id)
    parent_score = latest_score(store, set_name, parent.id,
                                score.engine if score is not None else None)
    found = comparison(store, parent_score.run_id, score.run_id) \
        if score is not None and parent_score is not None else None
    return EvalReport(set_name, model_id, entry.name, score, parent.id, parent.name,
                      parent_score, found)
