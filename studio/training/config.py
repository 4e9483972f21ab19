"""What a training run does: the :class:`TrainConfig` dataclass, presets and per-method defaults.

The field help texts are the Train page's tooltips and the ``tuning-studio train`` flag help.
A config is stored as ``config.json`` in the run folder before launch; ``None`` in a field
means "let the backend choose" (resolved values are reported in the run's ``started`` event).
Pre-flight checks live in :mod:`studio.preflight`.
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from studio.errors import StudioError
from studio.training.grpo_checks import GRPO_HELP, GRPO_LOSSES, grpo_problems

METHODS = ("sft", "dpo", "kto", "simpo", "orpo", "grpo")
METHOD_HELP = {
    "sft": "SFT teaches behaviour: the model imitates your gold and thumbs-up answers.",
    "dpo": "DPO learns from pairs: it moves the model towards the answer you preferred.",
    "kto": "KTO learns from thumbs up/down alone; no pairs are needed.",
    "simpo": "SimPO learns from pairs without a reference model: cheaper than DPO per step,"
             " its length-normalised reward resists drifting into longer answers, and an"
             " imitation term (sft_weight) keeps the answers fluent.",
    "orpo": "ORPO learns from pairs in one stage: it imitates the chosen answer and pushes"
            " the rejected one down together, so it fits a base that was never SFT-tuned.",
    "grpo": "Reinforce with a grader: the model samples several answers per prompt, your"
            " graders score them, and it moves towards the better ones; no labels needed.",
}
# The snapshot kind each method trains on: the reference-free pairwise losses read DPO pairs.
DATA_KIND = {"sft": "sft", "dpo": "dpo", "kto": "kto", "simpo": "dpo", "orpo": "dpo",
             "grpo": "grpo"}
ADAPTERS = ("lora", "qlora", "full")
DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("auto", "bf16", "fp16", "fp32")
SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup")

# Learning rates. Full fine-tuning uses TRL's recommendations (KTO/DPO: 5e-7..5e-6). A LoRA
# update is a low-rank delta scaled by alpha/r that starts at zero, so it needs a rate about
# 10-100x higher to move as far in the same number of steps (PEFT and TRL's LoRA examples).
# SFT with LoRA is tuned on a real model (SmolLM2-135M-Instruct, tests/rule_task.py: 33
# answers, 17 held-out, answer-only loss): 3 epochs at 2e-4 reached 13/17 held-out through the
# exported GGUF, 3 epochs at 1e-3 reached 17/17 (bench/results/2026-12-03-real-sft-efficacy.txt).
# Personal data sets are small, so a run has few steps: the rate must move the model in them.
DEFAULT_LEARNING_RATE = {
    ("sft", "lora"): 1e-3, ("sft", "qlora"): 2e-4, ("sft", "full"): 2e-5,
    # DPO with LoRA at 5e-4 plus the imitation term (sft_weight 1) took SmolLM2 from 0/17 to
    # 17/17 held-out; the same rate without it reached 3/17 and garbled answers (bench/results/
    # 2026-12-03-real-dpo-kto-efficacy.txt). Round 1's 5e-5 left the behaviour unchanged.
    ("dpo", "lora"): 5e-4, ("dpo", "qlora"): 5e-4, ("dpo", "full"): 5e-7,
    # KTO with LoRA at 5e-4 took SmolLM2 from 0/17 to 17/17 held-out through the exported GGUF
    # (rule task, default preset; bench/results/2026-12-03-real-dpo-kto-efficacy.txt).
    ("kto", "lora"): 5e-4, ("kto", "qlora"): 5e-4, ("kto", "full"): 5e-6,
    # SimPO's paper tunes full fine-tunes in 3e-7..1e-6; ORPO's uses 8e-6 (TRL's docs). With
    # LoRA on SmolLM2 (rule task, default preset), ORPO at 8e-5 left the held-out preference
    # and answers unchanged (reward accuracy 0.00, 0/17); at 5e-4 it reached 1.00 and 17/17
    # (bench/results/2026-12-03-real-simpo-orpo-efficacy.txt).
    # SimPO with LoRA (beta 2): 5e-5 learned nothing (held-out reward accuracy 0.00); 1e-4
    # reached 0.82 and 5e-4 1.00, but without the imitation term the answers turned to
    # gibberish (0/17); 5e-4 with it (CPO-SimPO, sft_weight 1) reached 1.00 and 17/17.
    ("simpo", "lora"): 5e-4, ("simpo", "qlora"): 5e-4, ("simpo", "full"): 1e-6,
    ("orpo", "lora"): 5e-4, ("orpo", "qlora"): 5e-4, ("orpo", "full"): 8e-6,
    # GRPO: TRL's default 1e-6 is for full fine-tunes. With LoRA on SmolLM2 (one-step sums,
    # numeric grader, 2 prompts x 8 answers at temperature 0.7), 60 steps at 3e-4 took the
    # held-out greedy pass rate from 20/60 to 42/60 (McNemar p = 3e-6); 12 steps at 2e-4 and
    # temperature 1.0 changed nothing (bench/results/2026-12-03-real-grpo-efficacy.txt).
    ("grpo", "lora"): 3e-4, ("grpo", "qlora"): 3e-4, ("grpo", "full"): 1e-6,
}
# DPO, KTO and ORPO: TRL's defaults (0.1). SimPO's reward is the mean log-probability times
# beta, and its paper uses beta 2.0-2.5: at TRL's CPO default of 0.1 the loss's gradient is ~20x
# smaller and a SmolLM2 run left the held-out preference where it was (accuracy 0.00 -> 0.00,
# bench/results/2026-12-03-real-simpo-orpo-efficacy.txt).
DEFAULT_BETA = {"simpo": 2.0}
# The imitation term, on by default for DPO (RPO) and SimPO (TRL's CPO-SimPO, cpo_alpha): on
# SmolLM2 both learned to rank the pairs without it while their answers degraded (see
# DEFAULT_LEARNING_RATE). sft_weight 0 gives the papers' pure losses.
DEFAULT_SFT_WEIGHT = {"dpo": 1.0, "simpo": 1.0}
# Fields that only one family of methods reads; the form shows them only for those.
GRPO_ONLY = ("grpo",)
# KTO needs several examples per batch for its KL estimate (TRL docs: batch size >= 4).
MIN_BATCH = {"sft": 1, "dpo": 1, "kto": 4, "simpo": 1, "orpo": 1, "grpo": 1}

PRESETS: dict[str, dict[str, Any]] = {
    "quick": {"num_epochs": 1.0, "lora_r": 8, "lora_alpha": 16, "max_length": 512},
    "balanced": {"num_epochs": 3.0, "lora_r": 16, "lora_alpha": 32, "max_length": 1024},
    "thorough": {"num_epochs": 5.0, "lora_r": 32, "lora_alpha": 64, "max_length": 2048},
}
PRESET_HELP = {
    "quick": "One pass with a rank-8 adapter: a check that the data and settings run, in"
             " minutes. It will usually not teach a new behaviour: on SmolLM2-135M with 33"
             " rule-following answers one pass left the loss nearly flat and no held-out"
             " answer changed. Use balanced to change what the model does.",
    "balanced": "Three passes, rank-16 adapter: the default, and the one that teaches a"
                " behaviour. On SmolLM2-135M with 33 rule-following answers it went from 0/17"
                " held-out to 13/17 at the old SFT rate (2e-4); three passes at 1e-3, the SFT"
                " default now, reached 17/17.",
    "thorough": "Five passes, rank-32 adapter, longer context: for many or long examples;"
                " slowest, and on a small set it can over-fit (watch the eval loss).",
}


class ConfigError(StudioError):
    """A training config that cannot be used as written; the message names the field."""


def _f(default: Any, help_text: str, **extra: Any) -> Any:
    return field(default=default, metadata={"help": help_text, **extra})


@dataclass
class TrainConfig:
    """One training run. Fields marked ``advanced`` are folded away in the UI's form."""

    method: str = _f("sft", "Training method: sft (behaviour from answers), dpo (pairs),"
                     " kto (thumbs up/down), simpo or orpo (pairs, no reference model), grpo"
                     " (reinforce with graders).",
                     choices=METHODS)
    model: str = _f("", "Base model: a local folder with config.json and weights, or a"
                    " Hugging Face model id already in the local cache.")
    snapshot_dir: str = _f("", "Folder of the frozen dataset snapshot (train.jsonl,"
                           " eval.jsonl, manifest.json); the run folder keeps its own copy.")
    db: str = _f("", "The studio database whose run list this run updates (absolute path);"
                 " the app writes it into the run folder. Empty: a run trained away from any"
                 " database, such as a bundle on another machine.", advanced=True)
    preset: str = _f("balanced", "Starting point for epochs, adapter rank and length:"
                     " quick, balanced or thorough.", choices=tuple(PRESETS))
    train_from: str = _f("", "Which labels to train on: mine (the labels you made in the app,"
                         " not imported ones), all, a tag, a source such as import:file.json,"
                         " or evalset:NAME. Empty: mine once you have made enough labels for"
                         " the method, else all. GRPO reads prompts instead.")
    time_budget_minutes: float | None = _f(
        None, "Train for about this many minutes: the run times one real step on this"
        " machine and stops after the steps that fit (never more than the preset's epochs),"
        " with evaluation kept to about a tenth of the time. Empty: an hour on a CPU, no"
        " limit on a GPU; 0: no limit.", label="Train for about",
        placeholder="minutes (empty: 60 on a CPU)",
        methods=("sft", "dpo", "kto", "simpo", "orpo"))
    adapter: str = _f("lora", "lora trains a small adapter; qlora does so on a 4-bit base"
                      " (CUDA + bitsandbytes); full updates every weight (small models only).",
                      choices=ADAPTERS)
    init_adapter: str | None = _f(None, "Continue training this earlier adapter folder (next"
                                  " round) instead of starting a fresh one.", advanced=True)
    num_epochs: float = _f(3.0, "Passes over the training examples.")
    max_steps: int = _f(-1, "Stop after this many optimizer steps (-1: run all epochs).",
                        advanced=True)
    batch_size: int = _f(4, "Examples per device per step (KTO needs at least 4).")
    grad_accum: int = _f(1, "Steps whose gradients are summed before each update; the"
                         " effective batch is batch_size x grad_accum.", advanced=True)
    learning_rate: float | None = _f(None, "Peak learning rate (empty: the method's default,"
                                     " higher for LoRA than for full fine-tuning).")
    lr_scheduler: str = _f("linear", "How the rate decays after warm-up.", choices=SCHEDULERS,
                           advanced=True)
    warmup_ratio: float = _f(0.05, "Share of steps spent warming the rate up from 0.",
                             advanced=True)
    max_length: int = _f(1024, "Longest example in tokens (prompt + answer); longer ones are"
                         " truncated.", methods=("sft", "dpo", "kto", "simpo", "orpo"))
    lora_r: int = _f(16, "LoRA rank: capacity of the adapter.", advanced=True)
    lora_alpha: int = _f(32, "LoRA alpha: scale of the adapter's update (often 2 x rank).",
                         advanced=True)
    lora_dropout: float = _f(0.05, "Dropout on the adapter's input during training.",
                             advanced=True)
    target_modules: str = _f("all-linear", "Layers that get adapters: all-linear, or names"
                             " separated by commas (q_proj,v_proj).", advanced=True)
    beta: float | None = _f(None, "DPO/KTO: how far the model may drift from the base (higher"
                            " stays closer). SimPO: scale of the length-normalised reward."
                            " ORPO: weight of the odds-ratio term beside imitation (lambda in"
                            " the paper). Empty: the method's default (SimPO 2.0, others 0.1).",
                            methods=("dpo", "kto", "simpo", "orpo"))
    sft_weight: float | None = _f(None, "Weight of an imitation (SFT) loss on the chosen"
                                  " answer beside the preference loss. DPO (RPO): ranking"
                                  " pairs alone left a real model's answers unchanged (3/17"
                                  " vs 17/17 with it). SimPO (CPO-SimPO, TRL's cpo_alpha):"
                                  " keeps answers fluent. Empty: 1.0; 0 turns it off (the"
                                  " papers' pure DPO and SimPO).",
                                  methods=("dpo", "simpo"))
    simpo_gamma: float = _f(0.5, "SimPO: the margin by which the chosen answer's reward must"
                            " beat the rejected one's (TRL's default 0.5).", advanced=True,
                            methods=("simpo",))
    desirable_weight: float | None = _f(None, "KTO: loss weight of thumbs-up examples (empty:"
                                        " balanced from the up/down counts).", advanced=True,
                                        methods=("kto",))
    undesirable_weight: float | None = _f(None, "KTO: loss weight of thumbs-down examples"
                                          " (empty: balanced from the counts).", advanced=True,
                                          methods=("kto",))
    eval_steps: int = _f(0, "Evaluate on the held-out split every N steps (0: four times"
                         " per run, and at the end).", advanced=True)
    eval_sample: int = _f(32, "Evaluate on at most this many held-out examples, drawn at"
                          " random once per run (0: all; each one costs a forward pass).",
                          advanced=True)
    save_steps: int = _f(0, "Save a resumable checkpoint every N steps (0: with each"
                         " evaluation).", advanced=True)
    logging_steps: int = _f(1, "Report loss and metrics every N steps.", advanced=True)
    device: str = _f("auto", "Where to train: auto picks CUDA, then Apple MPS, then CPU.",
                     choices=DEVICES, advanced=True)
    precision: str = _f("auto", "Number format: auto is bf16 on CUDA that supports it, else"
                        " fp16 on CUDA, else fp32.", choices=PRECISIONS, advanced=True)
    gradient_checkpointing: bool | None = _f(None, "Recompute activations to save memory"
                                             " (about 20% slower; empty: on for CUDA only).",
                                             advanced=True)
    seed: int = _f(0, "Random seed for the adapter's init and data order.", advanced=True)
    graders: list[str] = field(default_factory=list, metadata={"help": GRPO_HELP["graders"]})
    reward_weights: list[float] | None = field(default=None, metadata={
        "help": GRPO_HELP["reward_weights"], "advanced": True})
    prompts: str = _f("", GRPO_HELP["prompts"])
    # 8 answers per prompt (TRL's default) at temperature 0.7: at 1.0 SmolLM2-135M's samples
    # were mostly wrong where its greedy answers were right, so most groups scored alike.
    num_generations: int = _f(8, GRPO_HELP["num_generations"], methods=GRPO_ONLY)
    max_completion_length: int = _f(64, GRPO_HELP["max_completion_length"], methods=GRPO_ONLY)
    temperature: float = _f(0.7, GRPO_HELP["temperature"], methods=GRPO_ONLY)
    kl_beta: float = _f(0.0, GRPO_HELP["kl_beta"], advanced=True, methods=GRPO_ONLY)
    loss_type: str = _f("dapo", GRPO_HELP["loss_type"], choices=GRPO_LOSSES, advanced=True,
                        methods=GRPO_ONLY)
    use_vllm: bool | None = _f(None, GRPO_HELP["use_vllm"], advanced=True, methods=GRPO_ONLY)
    completions_every: int = _f(5, GRPO_HELP["completions_every"], advanced=True,
                                methods=GRPO_ONLY)

    @classmethod
    def for_method(cls, method: str, model: str, preset: str = "balanced",
                   **overrides: Any) -> TrainConfig:
        """A config with the preset's values, then the given overrides."""
        if preset not in PRESETS:
            raise ConfigError(f"preset: unknown preset {preset!r}; use one of"
                              f" {', '.join(PRESETS)}")
        return cls(method=method, model=model, preset=preset, **{**PRESETS[preset], **overrides})

    def with_preset(self, preset: str) -> TrainConfig:
        if preset not in PRESETS:
            raise ConfigError(f"preset: unknown preset {preset!r}")
        return replace(self, preset=preset, **PRESETS[preset])

    @property
    def effective_beta(self) -> float:
        return self.beta if self.beta is not None else DEFAULT_BETA.get(self.method, 0.1)

    @property
    def effective_sft_weight(self) -> float:
        if self.sft_weight is not None:
            return self.sft_weight
        return DEFAULT_SFT_WEIGHT.get(self.method, 0.0)

    @property
    def effective_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return DEFAULT_LEARNING_RATE[(self.method, self.adapter)]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> TrainConfig:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - known.keys())
        if unknown:
            raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
        config = cls(**data)
        config.check(where)
        return config

    @classmethod
    def load(cls, path: Path | str) -> TrainConfig:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: no such config file") from None
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path}, line {error.lineno}: not JSON ({error.msg})") from None
        except RecursionError:
            raise ConfigError(f"{path}: the JSON is nested too deeply") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a config must be a JSON object")
        return cls.from_dict(data, str(path))

    def save(self, path: Path | str) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    def check(self, where: str = "config") -> None:
        """Raise :class:`ConfigError` for the first value that cannot work."""
        problem = next(iter(self.problems()), None)
        if problem is not None:
            raise ConfigError(f"{where}, field '{problem[0]}': {problem[1]}")

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for every invalid value."""
        out = _type_problems(self)
        if out:
            return out
        positive = ("batch_size", "grad_accum", "max_length", "lora_r", "lora_alpha",
                    "logging_steps")
        out += [(name, "must be at least 1") for name in positive if getattr(self, name) < 1]
        if self.max_steps == 0 or self.max_steps < -1:
            out.append(("max_steps", "must be -1 (all epochs) or at least 1"))
        if self.max_steps == -1 and self.num_epochs <= 0:
            out.append(("num_epochs", "must be above 0"))
        if self.learning_rate is not None and not 0 < self.learning_rate < 1:
            out.append(("learning_rate", "must be between 0 and 1 (e.g. 2e-4)"))
        if not 0 <= self.warmup_ratio < 1:
            out.append(("warmup_ratio", "must be in [0, 1)"))
        if not 0 <= self.lora_dropout < 1:
            out.append(("lora_dropout", "must be in [0, 1)"))
        if self.beta is not None and self.beta <= 0:
            out.append(("beta", "must be above 0"))
        if self.simpo_gamma < 0:
            out.append(("simpo_gamma", "must be 0 or more"))
        if self.sft_weight is not None and self.sft_weight < 0:
            out.append(("sft_weight", "must be 0 or more"))
        for name in ("desirable_weight", "undesirable_weight"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                out.append((name, "must be above 0"))
        if self.time_budget_minutes is not None and self.time_budget_minutes < 0:
            out.append(("time_budget_minutes", "must be 0 (no limit) or more minutes"))
        if self.eval_sample < 0:
            out.append(("eval_sample", "must be >= 0 (0 evaluates on every held-out example)"))
        if self.eval_steps < 0 or self.save_steps < 0:
            out.append(("eval_steps" if self.eval_steps < 0 else "save_steps", "must be >= 0"))
        if self.batch_size < MIN_BATCH[self.method]:
            out.append(("batch_size", f"{self.method.upper()} needs at least"
                        f" {MIN_BATCH[self.method]} examples per batch"))
        if not self.model:
            out.append(("model", "choose a base model"))
        if self.init_adapter and self.adapter == "full":
            out.append(("init_adapter", "continuing an adapter needs adapter lora or qlora"))
        if self.method == "grpo":
            out += grpo_problems(self.graders, self.reward_weights, self.num_generations,
                                 self.max_completion_length, self.temperature, self.kl_beta,
                                 self.completions_every)
        return out


def _type_problems(config: TrainConfig) -> list[tuple[str, str]]:
    """Wrong types and values outside a field's ``choices``: JSON written by hand gets these."""
    out = []
    for spec in fields(config):
        value = getattr(config, spec.name)
        choices = spec.metadata.get("choices")
        if choices and value not in choices:
            out.append((spec.name, f"{value!r} is not one of {', '.join(choices)}"))
            continue
        if value is None and "None" in str(spec.type):
            continue
        text = str(spec.type)
        if text.startswith("list["):
            problem = _list_problem(value, _python_type(text.removeprefix("list[")))
        else:
            problem = _value_problem(value, _python_type(text))
        if problem:
            out.append((spec.name, problem))
    return out


def _value_problem(value: Any, expected: type | None) -> str | None:
    """Why ``value`` is not a value of the scalar type ``expected`` (NaN and infinity are
    not numbers a setting can take: ``reward_weights=[NaN]`` trained with a NaN reward)."""
    if expected is None:
        return None
    if expected is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if math.isfinite(value) else f"must be a finite number, got {value!r}"
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return f"expected {expected.__name__}, got {value!r}"
    return None


def _list_problem(value: Any, item: type | None) -> str | None:
    name = item.__name__ if item else "value"
    if not isinstance(value, list):
        example = "[1, 0.5]" if item is float else '["a", "b"]'
        return f"expected a list of {name}s such as {example}, got {value!r}"
    for index, entry in enumerate(value, start=1):
        problem = _value_problem(entry, item)
        if problem:
            return f"item {index}: {problem}"
    return None


def _python_type(annotation: Any) -> type | None:
    text = str(annotation)
    for name, kind in (("bool", bool), ("float", float), ("int", int), ("str", str)):
        if text.startswith(name):
            return kind
    return None


def field_defaults() -> dict[str, Any]:
    return {spec.name: spec.default for spec in fields(TrainConfig)
            if spec.default is not MISSING}


def kto_weights(desirable: int, undesirable: int) -> tuple[float, float]:
    """KTO loss weights that balance the classes: TRL advises that desirable_weight x ups /
    (undesirable_weight x downs) lie in [1, 4/3]; we aim for 1."""
    if desirable <= 0 or undesirable <= 0:
        return 1.0, 1.0
    if desirable >= undesirable:
        return 1.0, round(desirable / undesirable, 4)
    return round(undesirable / desirable, 4), 1.0
