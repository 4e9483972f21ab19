"""Evaluate: eval sets, eval jobs and their reports, before/after on a tuned model and its
parent, and drift. What the eval dialogs and widgets and ``tuning-studio eval`` share.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.evaluation.auto import (
    before_after,
    default_eval_set,
    eval_config,
    evaluate_before_after,
    plan,
    plan_all,
    run_job,
    run_model,
    run_summaries,
)
from studio.evaluation.drift import DRIFT_MODULE, all_drift, drift_config, run_drift
from studio.evaluation.evalsets import (
    EvalSet,
    EvalSetError,
    create_eval_set,
    get_eval_set,
    list_eval_sets,
)
from studio.evaluation.graders import SPEC_HELP, Grade, parse_spec
from studio.evaluation.graders.sandbox import isolate
from studio.evaluation.jobs import EVAL_MODULE, EvalConfig, done_prompt_ids, sync_eval_runs
from studio.evaluation.summary import EvalReport, Score, eval_report, latest_scores, run_outcome

__all__ = [
    "DRIFT_MODULE",
    "EVAL_MODULE",
    "SPEC_HELP",
    "EvalConfig",
    "EvalReport",
    "EvalSet",
    "EvalSetError",
    "Grade",
    "Score",
    "all_drift",
    "before_after",
    "create_eval_set",
    "default_eval_set",
    "done_prompt_ids",
    "drift_config",
    "eval_config",
    "eval_report",
    "evaluate_before_after",
    "get_eval_set",
    "isolate",
    "latest_scores",
    "list_eval_sets",
    "parse_spec",
    "plan",
    "plan_all",
    "run_drift",
    "run_job",
    "run_model",
    "run_outcome",
    "run_summaries",
    "sync_eval_runs",
]
