"""A run that fits the person's time: steps and evaluation sized from a measured step.

"Train for about N minutes" (``time_budget_minutes``) caps the run's optimizer steps at what
fits in the budget, after the time already spent starting up, a final save, and the share of
evaluation. The step time is measured on this machine: the run times one real step of its own
before training (``backends.lib.train_budget``), and pre-flight reuses the step times of earlier
runs of the same model and settings, when there are some, to warn before launch.

Evaluation never dominates a run: the held-out sample and how often it is evaluated are chosen
so that all evaluations together take about :data:`EVAL_SHARE` of the training time (on a CPU,
a 31-example eval every 2 steps once took 22 of a run's 24 minutes).

A pure module: the numbers go in, the plan comes out, every decision is unit-tested.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from studio.durations import duration
from studio.training.config import DATA_KIND, TrainConfig

PLAN_FILE = "budget.json"  # the plan a run made, in its run folder (a resume keeps it)
# With no budget set, a CPU run gets an hour: an afternoon then still holds the export, an
# evaluation before and after, and a second round. A GPU run keeps its preset's epochs.
AUTO_CPU_MINUTES = 60.0
# Held-out evaluation and probes: at most about this share of a run's time.
EVAL_SHARE = 0.10
# Seconds kept for saving the adapter after the last step.
FINAL_SAVE_S = 10.0
# One held-out example costs a forward pass, a training example a forward and a backward
# pass (about 3x); DPO/KTO/SimPO/ORPO evaluate a pair or the reference too, and KTO adds its
# reward-accuracy pass: the share of a training example's time that one eval example takes.
EVAL_COST = {"sft": 0.5, "dpo": 1.0, "kto": 1.5, "grpo": 1.0}
PERIODIC_EVALS = 4  # evaluations during a run, when they fit (and one at the end)
MIN_EVAL_SAMPLE = 8  # fewer examples than this say little: evaluate at the end only
MIN_FINAL_SAMPLE = 4
# Below this many seconds of evaluation in all the share does not matter (a tiny model's run),
# and a run still gets a measurement along the way.
MIN_EVAL_S = 20.0
# Measured on SmolLM2-135M (rule task, 33 answers): one pass over the answers left the loss
# nearly flat and no held-out answer changed; three passes took it from 0/17 to 17/17
# (bench/results/2026-12-03-real-sft-efficacy.txt). Below two passes a run rarely teaches.
MIN_PASSES = 2.0


@dataclass
class BudgetPlan:
    """What the run does: ``max_steps`` (-1: the preset's epochs, which fit), the passes over
    the training examples that makes, and the held-out evaluation's size and frequency."""

    step_s: float
    steps: int
    max_steps: int
    passes: float
    eval_sample: int
    eval_steps: int
    budget_s: float | None = None
    notes: list[str] = field(default_factory=list)
    warning: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for the run's events and the CLI."""
        return " ".join([*self.notes, *([self.warning] if self.warning else [])])


def budget_seconds(config: TrainConfig, device: str) -> float | None:
    """The run's budget in seconds: the configured minutes (0: no limit), or by default an
    hour on a CPU and no limit on a GPU."""
    minutes = config.time_budget_minutes
    if minutes is None:
        return AUTO_CPU_MINUTES * 60 if device == "cpu" else None
    return minutes * 60 if minutes > 0 else None


def preset_steps(config: TrainConfig, train_rows: int) -> int:
    if config.max_steps > 0:
        return config.max_steps
    per_epoch = math.ceil(train_rows / (config.batch_size * config.grad_accum))
    return max(1, math.ceil(per_epoch * config.num_epochs))


def plan(config: TrainConfig, train_rows: int, eval_rows: int, step_s: float,
         budget_s: float | None, elapsed_s: float = 0.0) -> BudgetPlan:
    """Steps and evaluation for a run whose optimizer step takes ``step_s`` seconds, with
    ``elapsed_s`` already spent (imports, loading) of ``budget_s`` (None: no limit)."""
    wanted = preset_steps(config, train_rows)
    steps, notes, warning = wanted, [], None
    if budget_s:
        left = budget_s - elapsed_s - FINAL_SAVE_S
        fit = max(1, math.floor(left * (1 - EVAL_SHARE) / step_s))
        steps = min(wanted, fit)
        if fit < wanted:
            notes.append(f"{duration(budget_s)} fit {steps} of the preset's {wanted} steps"
                         f" at {step_s:.1f} s a step (measured here).")
        else:
            notes.append(f"The preset's {wanted} steps take about {duration(wanted * step_s)}"
                         f" at {step_s:.1f} s a step, within {duration(budget_s)}; more passes"
                         " over the same examples would over-fit them.")
    batch = config.batch_size * config.grad_accum
    passes = steps * batch / max(train_rows, 1)
    if budget_s and steps < wanted and passes < MIN_PASSES:
        need = math.ceil(MIN_PASSES * train_rows / batch) * step_s / (1 - EVAL_SHARE)
        warning = (f"This budget allows {passes:.1f} passes over the {train_rows:,} training"
                   f" examples: too few to teach anything (on SmolLM2 one pass changed no"
                   f" answer, three taught a rule). Train on fewer examples (e.g. your own"
                   f" labels) or allow about {duration(need + elapsed_s + FINAL_SAVE_S)}.")
    sample, every = eval_size(config, steps, eval_rows, step_s)
    return BudgetPlan(round(step_s, 3), steps, steps if steps < wanted else config.max_steps,
                      round(passes, 2), sample, every, budget_s, notes, warning)


def eval_size(config: TrainConfig, steps: int, eval_rows: int,
              step_s: float) -> tuple[int, int]:
    """(held-out sample, evaluate every N steps) so all evaluations take about EVAL_SHARE of
    the training time; an ``eval_steps`` the person set is kept, ``eval_sample`` is a cap."""
    if eval_rows <= 0:
        return 0, config.eval_steps
    per_example = step_s / (config.batch_size * config.grad_accum) \
        * EVAL_COST[DATA_KIND[config.method]]
    allowed = max(EVAL_SHARE * steps * step_s, MIN_EVAL_S)
    cap = min(eval_rows, config.eval_sample or eval_rows)
    if config.eval_steps > 0:
        evaluations = math.ceil(steps / config.eval_steps)
        return _clamp(allowed / (evaluations * per_example), cap), config.eval_steps
    periodic = min(PERIODIC_EVALS, steps)
    sample = math.floor(allowed / (periodic * per_example))
    if sample >= MIN_EVAL_SAMPLE or sample >= cap:
        return _clamp(sample, cap), max(1, math.ceil(steps / periodic))
    # Too costly to evaluate along the way: once, at the last step.
    return _clamp(allowed / per_example, cap), steps


def _clamp(sample: float, cap: int) -> int:
    return max(min(MIN_FINAL_SAMPLE, cap), min(cap, math.floor(sample)))
