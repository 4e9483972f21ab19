"""Fit a run into its time budget: time one real step here, then set steps and evaluation.

The plan is :func:`studio.training.budget.plan` (pure); this module measures what it needs on
the built trainer and applies the result. The measured step is a forward and backward pass on
real training batches with the run's own settings; its gradients are thrown away, so the run
itself starts from the same weights. The plan is saved in the run folder (``budget.json``):
a resumed run keeps the steps it was planned with.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from studio.training.budget import (
    PERIODIC_EVALS,
    PLAN_FILE,
    BudgetPlan,
    budget_seconds,
    plan,
)
from studio.training.config import TrainConfig

# One step: on SmolLM2 on 2 cores a step takes 5-30 s, and a timed step is not trained on.
# The first step carries one-off costs (allocations), so the plan errs on the short side.
TIMED_STEPS = 1


def process_age() -> float:
    """Seconds since this process started: imports and loading count against the budget."""
    import psutil

    return max(0.0, time.time() - psutil.Process(os.getpid()).create_time())


def time_one_step(trainer: Any) -> float:
    """Seconds of one optimizer step (``grad_accum`` forward and backward passes) here."""
    model = trainer.model
    model.train()
    # Set by the trainer's own loop, which has not run yet; the loss divides by it.
    trainer.current_gradient_accumulation_steps = trainer.args.gradient_accumulation_steps
    tokens_before = getattr(trainer, "_total_train_tokens", None)
    loader = trainer.get_train_dataloader()
    batches = iter(loader)
    times: list[float] = []
    for _ in range(TIMED_STEPS):
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(loader)
            batch = next(batches)
        start = time.perf_counter()
        trainer.training_step(model, batch)
        times.append(time.perf_counter() - start)
    model.zero_grad(set_to_none=True)
    _forget_metrics(trainer, tokens_before)
    return min(times) * trainer.args.gradient_accumulation_steps


def _forget_metrics(trainer: Any, tokens_before: Any) -> None:
    """TRL's trainers count tokens and collect metrics in their loss: the timed passes must
    not show in the run's first logged step."""
    metrics = getattr(trainer, "_metrics", None)
    if isinstance(metrics, dict) and isinstance(metrics.get("train"), dict):
        metrics["train"].clear()
    if tokens_before is not None:
        trainer._total_train_tokens = tokens_before


def applies(config: TrainConfig) -> bool:
    """GRPO's steps sample answers (its probe has a budget of its own); a multi-process run
    (a bundle's torchrun) keeps its preset: every rank must agree on max_steps, and a timed
    backward pass would wait on the other ranks' gradients."""
    return config.method != "grpo" and int(os.environ.get("WORLD_SIZE", "1") or 1) <= 1


# A GRPO run's share of its budget for training steps: its probe had a tenth before launch,
# and the adapter is saved (and the queue advanced) after the last step.
GRPO_TRAIN_SHARE = 0.9


def grpo_deadline_s(config: TrainConfig, device: str) -> float | None:
    """Seconds of training a GRPO run gets from its budget (None: no limit). Its steps sample
    answers of varying length, so one timed step does not tell how many fit: the run stops
    at the first step that ends past its share instead. One process only, like :func:`fit`
    (every rank of a bundle must stop at the same step)."""
    if config.method != "grpo" or int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        return None
    budget = budget_seconds(config, device)
    return None if budget is None else max(budget * GRPO_TRAIN_SHARE - process_age(), 0.0)


def fit(trainer: Any, config: TrainConfig, device: str, run_dir: Path, train_rows: int,
        eval_rows: int) -> BudgetPlan | None:
    """The plan for this run (the saved one when resuming), applied to ``trainer``; None
    where no budget :func:`applies`."""
    if not applies(config):
        return None
    saved = run_dir / PLAN_FILE
    if saved.is_file():
        found = BudgetPlan(**json.loads(saved.read_text(encoding="utf-8")))
    else:
        step_s = time_one_step(trainer)
        found = plan(config, train_rows, eval_rows, step_s, budget_seconds(config, device),
                     process_age())
        saved.write_text(json.dumps(found.as_dict(), indent=1), encoding="utf-8")
    apply(trainer, found, config.save_steps)
    return found


def apply(trainer: Any, found: BudgetPlan, save_steps: int = 0) -> None:
    """Steps, evaluation frequency and the held-out sample, into the built trainer;
    checkpoints (unless ``save_steps`` is set) four times over the planned steps."""
    args = trainer.args
    if found.max_steps > 0:
        args.max_steps = found.max_steps
    if not save_steps:
        args.save_steps = max(1, math.ceil(found.steps / PERIODIC_EVALS))
    if found.eval_steps > 0 and trainer.eval_dataset is not None:
        args.eval_steps = found.eval_steps
    dataset = trainer.eval_dataset
    if dataset is not None and 0 < found.eval_sample < len(dataset):
        # The same examples at every evaluation (bounded_eval already shuffled them once).
        trainer.eval_dataset = dataset.select(range(found.eval_sample))
