"""Trainer builder for GRPO: the model samples several answers per prompt, the run's graders
(:mod:`studio.evaluation.graders`) score them as TRL reward functions, and the update favours
the answers that scored above their group's mean.

The run folder protocol is the other methods' (``backends.train``): TRL's step logs become
``step`` events carrying ``reward``, ``reward_std``, ``frac_reward_zero_std`` (the share of
prompts whose answers all scored the same, which teach nothing), ``completions/mean_length``
and ``kl`` (when ``kl_beta`` > 0). Every ``completions_every`` steps a ``completions`` event
holds a few sampled answers with their scores, for the Train page's table.

Heavy libraries are imported inside the functions (ruff TID253).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backends.lib.jobs import StopFlag
from studio.evaluation.graders import Grader
from studio.evaluation.graders.sandbox import isolate
from studio.evaluation.graders.spec import folder_db, parse_specs
from studio.events import EventWriter
from studio.jobs.launch import stop_requested
from studio.training.config import TrainConfig

SAMPLES_PER_EVENT = 4
TEXT_LIMIT = 400  # characters of a prompt or answer kept in a completions event


def _text(value: Any) -> str:
    """The text of a TRL prompt/completion: a string, or the last message's content."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        return str(value[-1].get("content", ""))
    return str(value)


class CompletionsLog:
    """Collects each reward function's scores of one generation batch and writes a
    ``completions`` event once per ``every`` steps, after the last grader has scored."""

    def __init__(self, writer: EventWriter, specs: list[str], every: int) -> None:
        self.writer, self.specs, self.every = writer, specs, every
        self.scores: dict[str, list[float]] = {}
        self.written_step = -1

    def record(self, spec: str, step: int, prompts: list[Any], completions: list[Any],
               scores: list[float], reasons: list[str]) -> None:
        if not self.every or step % self.every or step == self.written_step:
            return
        self.scores[spec] = scores
        if len(self.scores) < len(self.specs):
            return
        samples = []
        for index in range(min(SAMPLES_PER_EVENT, len(completions))):
            samples.append({
                "prompt": _text(prompts[index])[-TEXT_LIMIT:],
                "completion": _text(completions[index])[:TEXT_LIMIT],
                "scores": {s: round(self.scores[s][index], 4) for s in self.specs},
                "reason": reasons[index][:200]})
        self.writer.emit("completions", step=step, samples=samples)
        self.scores, self.written_step = {}, step


def reward_function(spec: str, grader: Grader, log: CompletionsLog) -> Callable[..., list[float]]:
    """A TRL reward function scoring with ``grader``; TRL names its metrics after
    ``__name__``, so the spec itself shows up as ``rewards/<spec>/mean``."""
    def reward(prompts: list[Any], completions: list[Any], reference: list[Any] | None = None,
               trainer_state: Any = None, **_: Any) -> list[float]:
        references = list(reference) if reference is not None else [None] * len(completions)
        grades = grader.score_batch([_text(p) for p in prompts],
                                    [_text(c) for c in completions], references)
        scores = [grade.score for grade in grades]
        step = int(getattr(trainer_state, "global_step", 0) or 0)
        log.record(spec, step, prompts, completions, scores, [g.reason for g in grades])
        return scores

    reward.__name__ = spec[:60]
    return reward


def use_vllm(config: TrainConfig, on_cpu: bool) -> bool:
    """vLLM when asked for, or (empty) when it is installed and a CUDA GPU trains."""
    if config.use_vllm is not None:
        return config.use_vllm
    return not on_cpu and importlib.util.find_spec("vllm") is not None


def grpo_args(config: TrainConfig, args: dict[str, Any]) -> dict[str, Any]:
    """GRPOConfig fields: ``batch_size`` counts prompts, so a step trains on batch_size x
    num_generations answers (TRL counts answers and needs whole groups per batch)."""
    out = {k: v for k, v in args.items() if k != "max_length"}  # GRPO has no max_length
    out.update({
        "per_device_train_batch_size": config.batch_size * config.num_generations,
        "num_generations": config.num_generations,
        "max_completion_length": config.max_completion_length,
        "temperature": config.temperature, "beta": config.kl_beta,
        "loss_type": config.loss_type, "reward_weights": config.reward_weights,
        # Prompts carry no input_ids for transformers to count; TRL counts tokens itself.
        "include_num_input_tokens_seen": False,
        "eval_strategy": "no", "log_completions": False,
    })
    if use_vllm(config, bool(args.get("use_cpu"))):
        out.update({"use_vllm": True, "vllm_mode": "colocate"})
    return out


def build_grpo(config: TrainConfig, model: Any, tokenizer: Any, train: Any, evaluation: Any,
               args: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from trl import GRPOConfig, GRPOTrainer

    from backends.lib.train_setup import lora_config

    # Graders score in worker processes started from inside a training step: the Rust
    # tokenizer must not have worker threads running when the process forks.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    # The run folder is checkpoints' parent; the completions table goes to its events.
    run_dir = Path(args["output_dir"]).parent
    log = CompletionsLog(EventWriter(run_dir / "events.jsonl"), config.graders,
                         config.completions_every)
    # Each rule scores in a worker with a time limit per answer; a stop (file or signal)
    # kills a busy worker at once and ends the step (backends.train saves a checkpoint).
    flag = StopFlag.latest
    should_stop = (lambda: flag.stop) if flag is not None else (lambda: stop_requested(run_dir))
    graders = [isolate(grader, should_stop=should_stop)
               for grader in parse_specs(config.graders, folder_db(run_dir))]
    rewards: list[Any] = [reward_function(spec, grader, log)
                          for spec, grader in zip(config.graders, graders, strict=True)]
    grpo = grpo_args(config, args)
    trainer = GRPOTrainer(model=model, reward_funcs=rewards, args=GRPOConfig(**grpo),
                          train_dataset=train, processing_class=tokenizer,
                          peft_config=lora_config(config))
    extra = {key: grpo[key] for key in ("per_device_train_batch_size", "num_generations",
                                        "max_completion_length", "temperature", "beta",
                                        "loss_type", "reward_weights")}
    extra["use_vllm"] = bool(grpo.get("use_vllm"))
    return trainer, extra


BUILDERS = {"grpo": build_grpo}
