"""The training process's link to the outside: the events callback, which also honours the one
stop mechanism (``backends.lib.jobs.StopFlag``: the job's stop file or SIGTERM/SIGINT).

The ``TrainerCallback`` subclass is built inside :func:`make_events_callback` because
transformers may only be imported inside functions (the GUI process imports this package's
siblings' parsers, and must stay light).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from backends.lib.jobs import StopFlag
from studio.events import EventWriter

# Keys of TRL's final summary log, reported in `finished` rather than as a step.
SUMMARY_KEYS = frozenset({"train_runtime", "train_samples_per_second", "train_steps_per_second",
                          "total_flos", "train_loss"})


class EvaluationInterruptedError(Exception):
    """Raised inside the evaluation loop when a stop is asked for, so Cancel does not wait for
    a whole evaluation pass (minutes on a real model); the trainer then saves a checkpoint."""


def split_logs(logs: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Which event a trainer log is (step, eval or neither) and its numeric fields."""
    values = {k: v for k, v in logs.items() if isinstance(v, (int, float))}
    if any(key.startswith("eval_") for key in values):
        return "eval", values
    if "loss" in values:
        return "step", values
    return None, values


def make_events_callback(writer: EventWriter, stop: StopFlag,
                         started: dict[str, Any]) -> Any:
    """A TrainerCallback writing started/step/eval/checkpoint events and honouring ``stop``.

    ``started`` holds the fields of the started event known before training (config, device,
    counts); the callback adds max_steps and the step it resumed from.
    """
    from transformers import TrainerCallback

    class EventsCallback(TrainerCallback):
        def __init__(self) -> None:
            self.summary: dict[str, Any] = {}
            self.first_step: int | None = None
            self.eval_done = 0
            self.train_start = time.monotonic()

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.first_step = state.global_step
            self.train_start = time.monotonic()
            writer.emit("started", **started, max_steps=state.max_steps,
                        resumed_from=state.global_step or None)

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if stop.stop:
                control.should_save = True
                control.should_training_stop = True
                control.should_evaluate = False  # stopping must not wait for an eval pass

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
                   **kwargs: Any) -> None:
            kind, values = split_logs(logs or {})
            if kind is None:
                self.summary.update({k: v for k, v in values.items() if k in SUMMARY_KEYS})
                return
            writer.emit(kind, step=state.global_step, max_steps=state.max_steps, **values)

        def on_prediction_step(self, args: Any, state: Any, control: Any,
                               **kwargs: Any) -> None:
            # The trainer's evaluation loop never looks at `control`: only raising ends it.
            if stop.stop:
                raise EvaluationInterruptedError(f"stopped during evaluation at step"
                                                 f" {state.global_step}")
            # Evaluation can take minutes on CPU: say so, batch by batch, instead of a step
            # counter that seems stuck.
            loader = kwargs.get("eval_dataloader")
            total = len(loader.dataset) if loader is not None and hasattr(
                loader, "dataset") else None
            self.eval_done += args.per_device_eval_batch_size
            done = min(self.eval_done, total) if total else self.eval_done
            writer.emit("progress", stage="evaluating", done=done, total=total,
                        step=state.global_step, message=f"evaluating {done}/{total or '?'}"
                        " held-out examples")

        def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.eval_done = 0

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            writer.emit("checkpoint", step=state.global_step, path=str(path))

    return EventsCallback()


def make_deadline_callback(writer: EventWriter, seconds: float) -> Any:
    """A TrainerCallback that ends training (saving the step) at the first step that ends
    ``seconds`` after training began: a GRPO run's time budget."""
    from transformers import TrainerCallback

    class DeadlineCallback(TrainerCallback):
        def __init__(self) -> None:
            self.start = time.monotonic()

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.start = time.monotonic()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if control.should_training_stop or time.monotonic() - self.start < seconds:
                return
            control.should_training_stop = True
            control.should_save = True
            control.should_evaluate = False
            writer.emit("progress", stage="budget", step=state.global_step,
                        message=f"time budget reached after step {state.global_step} of"
                        f" {state.max_steps} ({seconds / 60:.0f} min): saving the adapter")

    return DeadlineCallback()
