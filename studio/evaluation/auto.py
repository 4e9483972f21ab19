"""Evaluate a model, and its parent for the before/after, on an eval set: the use case behind
the Train page's "evaluate on <set> after training" and ``tuning-studio train --eval-set``.

The jobs are plain eval jobs (``backends.eval``): :func:`plan` says which to run (the parent
first, only when it has no completed run on the set yet), the caller runs them (the UI through
its JobRunner, the CLI in the foreground) and :func:`before_after` reads the result.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.db.store import Store
from studio.errors import StudioError
from studio.evaluation.engines import model_files
from studio.evaluation.evalsets import get_eval_set, list_eval_sets
from studio.evaluation.general import ensure_general_set
from studio.evaluation.jobs import (
    EVAL_MODULE,
    EvalConfig,
    done_prompt_ids,
    get_eval_run,
    latest_run,
    parent_run,
    sync_eval_run,
    sync_eval_runs,
    unfinished_run,
)
from studio.evaluation.report import Comparison
from studio.evaluation.summary import comparison
from studio.events import Event, read_events
from studio.jobs.launch import crash_report, run_foreground, write_job
from studio.registry.models import get_model


class EvalRunError(StudioError):
    """An eval run that could not start or did not finish."""


@dataclass(frozen=True)
class BeforeAfter:
    """The parent's and the tuned model's latest runs on one eval set, compared prompt by
    prompt (only prompts both answered count)."""

    set_name: str
    before_model: str
    after_model: str
    before_run: int
    after_run: int
    comparison: Comparison

    def summary(self) -> str:
        b, a = self.comparison.before, self.comparison.after
        return (f"eval '{self.set_name}': {b.rate:.0%} ({b.low:.0%}-{b.high:.0%}) before,"
                f" {a.rate:.0%} ({a.low:.0%}-{a.high:.0%}) after, n={a.n};"
                f" {self.comparison.verdict}")


def store_db(store: Store) -> str:
    return str(Path(store.db.execute("PRAGMA database_list").fetchone()[2]).resolve())


def eval_config(store: Store, set_name: str, model_id: str, engine: str = "auto",
                max_new_tokens: int = 128) -> EvalConfig:
    """The job config that evaluates ``model_id`` on the set, resuming an unfinished run."""
    eval_set = get_eval_set(store, set_name)
    entry = get_model(store, model_id)
    files = model_files(store, entry.id, engine)
    busy = [r for r in sync_eval_runs(store)
            if r.set_id == eval_set.id and r.model_id == entry.id]
    if busy:
        raise EvalRunError(f"eval run {busy[0].id} of {set_name!r} on {entry.id} is still"
                           f" running (job folder {busy[0].job_dir}); wait for it or stop it")
    resume = unfinished_run(store, eval_set.id, entry.id)
    if resume is not None and get_eval_run(store, resume).engine not in (None, files.engine):
        resume = None  # one run's answers all come from one engine: start afresh
    return EvalConfig(db=store_db(store), set_name=set_name, model_id=entry.id,
                      model_path=files.model_path, adapter_path=files.adapter_path,
                      engine=files.engine, max_new_tokens=max_new_tokens, run_id=resume)


def default_eval_set(store: Store) -> str | None:
    """The set to offer after training: the newest one (None when there is none)."""
    sets = sorted(list_eval_sets(store), key=lambda s: (s.created_at, s.id))
    return sets[-1].name if sets else None


def run_model(store: Store, run_id: str) -> str:
    """The model a completed training run registered (its adapter, or a full model)."""
    row = store.db.execute("SELECT id FROM models WHERE run_id = ? AND kind IN ('adapter',"
                           " 'base') ORDER BY created_at LIMIT 1", [run_id]).fetchone()
    if row is None:
        raise EvalRunError(f"run {run_id} registered no model to evaluate; did it complete?")
    return str(row[0])


def plan(store: Store, set_name: str, model_id: str, max_new_tokens: int = 128
         ) -> list[EvalConfig]:
    """The eval jobs for a before/after: the parent (when not evaluated on the set yet),
    then the model itself."""
    eval_set = get_eval_set(store, set_name)
    parent = get_model(store, model_id).parent_id
    mine = eval_config(store, set_name, model_id, max_new_tokens=max_new_tokens)
    configs = []
    # The parent answers through the model's engine (an adapter without a GGUF runs on
    # transformers, so its base does too): the before/after then measures the training only.
    if parent and latest_run(store, eval_set.id, parent, engine=mine.engine) is None:
        try:
            before = eval_config(store, set_name, parent, mine.engine, max_new_tokens)
        except StudioError:  # the parent has no files for that engine: its best one
            before = eval_config(store, set_name, parent, "auto", max_new_tokens)
        configs.append(before)
    return [*configs, mine]


def job_cost(store: Store, config: EvalConfig) -> float:
    """A rough relative cost, to run the cheapest jobs first: prompts left, times the engine
    (transformers decodes ~3x slower than llama.cpp on a CPU), times an LLM judge's own decode."""
    eval_set = get_eval_set(store, config.set_name)
    done = len(done_prompt_ids(store, config.run_id)) if config.run_id is not None else 0
    engine = 3.0 if config.engine != "llama.cpp" else 1.0
    judge = 3.0 if "judge:" in eval_set.grader else 1.0
    return max(eval_set.size - done, 0) * engine * judge


def plan_all(store: Store, model_id: str, max_new_tokens: int = 128) -> list[EvalConfig]:
    """Every eval set (the built-in general set too) on the new model, and on its parent
    where the parent has no result through the same engine yet; cheapest first."""
    ensure_general_set(store)
    configs: dict[tuple[str, str], EvalConfig] = {}
    for eval_set in list_eval_sets(store):
        for config in plan(store, eval_set.name, model_id, max_new_tokens):
            configs.setdefault((config.set_name, config.model_id), config)
    return sorted(configs.values(), key=lambda c: job_cost(store, c))


def before_after(store: Store, set_name: str, model_id: str) -> BeforeAfter | None:
    """The comparison with the parent, once both have a completed run on the set."""
    eval_set = get_eval_set(store, set_name)
    parent = get_model(store, model_id).parent_id
    after = latest_run(store, eval_set.id, model_id)
    engine = get_eval_run(store, after).engine if after is not None else None
    before = parent_run(store, eval_set.id, parent, engine) if parent else None
    if parent is None or after is None or before is None:
        return None
    return BeforeAfter(set_name, parent, model_id, before, after,
                       comparison(store, before, after))


def run_job(store: Store, jobs_root: Path, config: EvalConfig,
            on_event: Callable[[Event], None]) -> int:
    """Run one eval job in the foreground; returns its run id or raises EvalRunError."""
    return follow_job(store, write_job(config, jobs_root, "eval"), config, on_event)


def follow_job(store: Store, job_dir: Path, config: EvalConfig,
               on_event: Callable[[Event], None]) -> int:
    """Start the eval job written in ``job_dir`` and follow it to its end: its run id, or
    EvalRunError saying why it did not finish (for a crash, what the log and the disk say)."""
    last = run_foreground(EVAL_MODULE, job_dir, on_event)
    if last is not None and last.event == "finished":
        return int(last["run_id"])
    started = [e for e in read_events(job_dir / "events.jsonl") if e.event == "started"]
    if started:  # a crash leaves the row 'running': mark it failed, with the log's tail
        _mark_crashed(store, int(started[-1]["run_id"]))
    why = last.get("message", last.event) if last else (
        f"it stopped without reporting (killed or crashed); see {job_dir}:\n"
        + crash_report(job_dir, EVAL_MODULE, config.db))
    raise EvalRunError(f"the eval run of {config.model_id} did not finish: {why}")


def _mark_crashed(store: Store, run_id: int) -> None:
    try:
        sync_eval_run(store, run_id)
    except sqlite3.OperationalError:
        # The disk that killed the job refuses this write too ("database or disk is full"):
        # the row stays 'running' until the next sync, and the message below says why.
        return


def evaluate_before_after(store: Store, jobs_root: Path, set_name: str, model_id: str,
                          on_event: Callable[[Event], None], max_new_tokens: int = 128
                          ) -> BeforeAfter | None:
    """Run :func:`plan` in the foreground (the CLI's way) and return the before/after."""
    for config in plan(store, set_name, model_id, max_new_tokens):
        run_job(store, jobs_root, config, on_event)
    return before_after(store, set_name, model_id)



def run_summaries(store: Store, run_id: str) -> list[str]:
    """The before/after lines of a training run's model on every eval set where it and its
    parent both have a score (the run's summary on the Train page)."""
    row = store.db.execute("SELECT id FROM models WHERE run_id = ? AND kind IN ('adapter',"
                           " 'base') ORDER BY created_at LIMIT 1", [run_id]).fetchone()
    if row is None:
        return []
    found = [f for f in (before_after(store, s.name, str(row[0])) for s in list_eval_sets(store))
             if f is not None]
    worse = [f.set_name for f in found if f.comparison.verdict.startswith("significantly worse")]
    head = [f"Significantly worse than its parent on: {', '.join(worse)}"] if worse else []
    return head + [f.summary() for f in found]
