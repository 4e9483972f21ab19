"""The time budget before launch: when an earlier run of the same model and settings measured
its step here (its ``budget.json``), pre-flight says now how many steps fit and warns when the
budget is too short to teach anything. Without one the run measures its own first step and
says the same in its events."""

from __future__ import annotations

import json

from studio.data.snapshots import load_manifest
from studio.db.store import Store
from studio.training.budget import PLAN_FILE, budget_seconds, plan
from studio.training.checks import Check
from studio.training.config import TrainConfig
from studio.training.runs import list_runs

# What a step's cost depends on: the same model and these settings measure the same step.
SAME_STEP = ("model", "method", "adapter", "batch_size", "grad_accum", "max_length",
             "lora_r", "target_modules", "device", "precision", "gradient_checkpointing")
# Imports and loading before the first step, when no earlier run says (SmolLM2 on 2 cores).
STARTUP_S = 30.0


def measured_step(store: Store, config: TrainConfig) -> tuple[float, str, str] | None:
    """(seconds a step, device, run id) of the newest run with the same step, if any."""
    for run in reversed(list_runs(store)):
        saved = run.run_dir / PLAN_FILE
        if not saved.is_file() or any(run.config.get(name) != getattr(config, name)
                                      for name in SAME_STEP):
            continue
        try:
            step_s = float(json.loads(saved.read_text(encoding="utf-8"))["step_s"])
        except (OSError, ValueError, KeyError):
            continue  # a half-written plan: the run measures its own step
        started = [e for e in run.dir.events_list() if e.event == "started"]
        device = str(started[-1].get("device", "cpu")) if started else "cpu"
        return step_s, device, run.id
    return None


def budget_checks(store: Store, config: TrainConfig) -> list[Check]:
    """The budget's plan from a measured step (a note, or a warning when too short), or a
    note that the run will measure its own."""
    if config.method == "grpo":
        minutes = config.time_budget_minutes
        if minutes == 0:
            return []
        how = f"about {minutes:g} min" if minutes else "an hour on a CPU, none on a GPU"
        return [Check("info", "budget", f"time budget {how} (the default when empty): GRPO"
                      " trains until its share of it is spent and saves the step it is on")]
    if not config.snapshot_dir:
        return []
    found = measured_step(store, config)
    minutes = config.time_budget_minutes
    if found is None:
        if minutes == 0:
            return []
        how = f"about {minutes:g} min" if minutes else "an hour on a CPU, none on a GPU"
        return [Check("info", "budget", f"time budget {how} (the default when empty): the run"
                      " times one step here and stops after the steps that fit, evaluating for"
                      " about a tenth of the time")]
    step_s, device, run_id = found
    counts = load_manifest(config.snapshot_dir)["counts"]
    budget = budget_seconds(config, device)
    fitted = plan(config, int(counts["train"]), int(counts["eval"]), step_s, budget,
                  STARTUP_S)
    said = " ".join(fitted.notes) or f"{fitted.steps} steps at {step_s:.1f} s each."
    checks = [Check("info", "budget", f"{said} Step time measured by run {run_id}.")]
    if fitted.warning:
        checks.append(Check("warning", "budget", fitted.warning))
    return checks
