"""Building blocks of a training run: device and precision, model and tokenizer, datasets,
and one trainer builder per method (a plain dict, as TRL's scripts keep it).

Heavy libraries are imported inside the functions (ruff TID253).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.errors import StudioError
from studio.registry.locate import resolve_model_dir
from studio.registry.safety import check_model_folder
from studio.training.budget import preset_steps
from studio.training.config import TrainConfig, kto_weights


class SetupError(StudioError):
    """The run cannot start on this machine as configured (no CUDA for QLoRA, ...)."""


@dataclass(frozen=True)
class TrainDevice:
    device: str  # cuda | mps | cpu
    precision: str  # bf16 | fp16 | fp32
    name: str


def resolve_hardware(config: TrainConfig) -> TrainDevice:
    """CUDA (bf16 where supported, else fp16), then Apple MPS (fp32), then CPU (fp32)."""
    import torch

    device = config.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else (
            "mps" if torch.backends.mps.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise SetupError("device: CUDA was requested but torch sees no CUDA GPU")
    if device == "mps" and not torch.backends.mps.is_available():
        raise SetupError("device: MPS was requested but this machine has no Apple GPU")
    precision = config.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") \
            if device == "cuda" else "fp32"
    if precision in {"bf16", "fp16"} and device == "cpu":
        raise SetupError(f"precision: {precision} training needs a GPU; use fp32 on CPU")
    name = torch.cuda.get_device_name(0) if device == "cuda" else device
    return TrainDevice(device, precision, name)


def load_tokenizer(config: TrainConfig) -> Any:
    from transformers import AutoTokenizer

    folder = str(resolve_model_dir(config.model))
    check_model_folder(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(config: TrainConfig, hardware: TrainDevice) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    # fp16 AMP needs fp32 master weights for the weights it trains (full fine-tuning).
    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32,
             "fp16": torch.float32 if config.adapter == "full" else torch.float16}
    kwargs: dict[str, Any] = {"dtype": dtype[hardware.precision], "trust_remote_code": False,
                              "use_safetensors": True}
    if config.adapter == "qlora":
        kwargs["quantization_config"] = _bnb_config(hardware)
        kwargs["device_map"] = {"": 0}
    folder = str(resolve_model_dir(config.model))
    check_model_folder(folder)
    if config.init_adapter:
        check_model_folder(config.init_adapter, "adapter")
    model: Any = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    if config.adapter == "qlora":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, gradient_checkpointing_kwargs={
            "use_reentrant": False})
    if config.init_adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, config.init_adapter, is_trainable=True)
    return model


def _bnb_config(hardware: TrainDevice) -> Any:
    import importlib.util

    if hardware.device != "cuda" or importlib.util.find_spec("bitsandbytes") is None:
        raise SetupError("adapter: QLoRA needs a CUDA GPU and the bitsandbytes package;"
                         " use lora instead")
    import torch
    from transformers import BitsAndBytesConfig

    compute = torch.bfloat16 if hardware.precision == "bf16" else torch.float16
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                              bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=compute)


def lora_config(config: TrainConfig) -> Any:
    if config.adapter == "full" or config.init_adapter:
        return None  # full fine-tuning, or the adapter loaded in load_model keeps training
    from peft import LoraConfig

    targets: Any = config.target_modules.strip()
    if targets != "all-linear":
        targets = [name.strip() for name in targets.split(",") if name.strip()]
    return LoraConfig(task_type="CAUSAL_LM", r=config.lora_r, lora_alpha=config.lora_alpha,
                      lora_dropout=config.lora_dropout, target_modules=targets)


def read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def load_dataset(path: Path) -> Any:
    from datasets import Dataset

    rows = read_rows(path)
    return Dataset.from_list(rows) if rows else None


def bounded_eval(dataset: Any, config: TrainConfig) -> Any:
    """At most ``config.eval_sample`` held-out rows, the same random ones at every evaluation."""
    if dataset is None or not config.eval_sample or len(dataset) <= config.eval_sample:
        return dataset
    return dataset.shuffle(seed=config.seed).select(range(config.eval_sample))


def trained_counts(trainer: Any, train: Any, evaluation: Any, full_eval: Any) -> dict[str, int]:
    """What is really trained and evaluated on: TRL silently drops rows it cannot use (SFT rows
    with no answer token left, DPO pairs whose prompt fills max_length, which ``build_dpo``
    shortens first so none is)."""
    def size(dataset: Any) -> int:
        return len(dataset) if dataset is not None else 0

    trained, evaluated = size(trainer.train_dataset), size(trainer.eval_dataset)
    counts = {"train": trained, "train_dropped": size(train) - trained, "eval": evaluated,
              "eval_dropped": size(evaluation) - evaluated, "eval_available": size(full_eval)}
    # DPO pairs kept whole but with their prompt's start cut to fit max_length.
    shortened = getattr(trainer, "prompts_shortened", None)
    if shortened is not None:
        counts["train_prompts_shortened"] = shortened["train"]
        counts["eval_prompts_shortened"] = shortened["eval"]
    return counts


def common_args(config: TrainConfig, hardware: TrainDevice, output_dir: Path, train_rows: int,
                has_eval: bool) -> dict[str, Any]:
    """TrainingArguments shared by the three methods."""
    # Four evaluations a run by default: on a real model on CPU, ten passes over the held-out
    # split took 500 s against 108 s of training.
    every = config.eval_steps or max(1, math.ceil(preset_steps(config, train_rows) / 4))
    checkpointing = config.gradient_checkpointing
    if checkpointing is None:
        checkpointing = hardware.device == "cuda"
    return {
        "output_dir": str(output_dir), "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.grad_accum,
        "learning_rate": config.effective_learning_rate, "num_train_epochs": config.num_epochs,
        "max_steps": config.max_steps, "lr_scheduler_type": config.lr_scheduler,
        "warmup_steps": config.warmup_ratio, "logging_steps": config.logging_steps,
        "eval_strategy": "steps" if has_eval else "no", "eval_steps": every,
        "save_strategy": "steps", "save_steps": config.save_steps or every,
        "save_total_limit": 2, "report_to": "none", "disable_tqdm": True,
        "use_cpu": hardware.device == "cpu", "bf16": hardware.precision == "bf16",
        "fp16": hardware.precision == "fp16", "activation_checkpointing": checkpointing,
        "seed": config.seed, "max_length": config.max_length,
        "include_num_input_tokens_seen": "non_padding",
    }


def has_generation_markers(tokenizer: Any) -> bool:
    return "{% generation %}" in str(getattr(tokenizer, "chat_template", "") or "")


def as_prompt_completion(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Conversations ending in an assistant turn as TRL prompt/completion rows.

    TRL masks the prompt of such rows out of the loss with any chat template, while its
    ``assistant_only_loss`` needs ``{% generation %}`` markers that real templates (SmolLM2's,
    Llama's, Qwen's) lack; without either, system and user tokens carried loss and the answer
    moved 2.4x slower per step on SmolLM2. Earlier assistant turns become context.
    """
    out = []
    for row in rows:
        messages = row["messages"]
        if not messages or messages[-1]["role"] != "assistant":
            raise SetupError("snapshot: an SFT conversation must end with an assistant answer")
        out.append({"prompt": messages[:-1], "completion": messages[-1:]})
    return out


def answer_only(dataset: Any, tokenizer: Any) -> tuple[Any, dict[str, Any]]:
    """The dataset and SFTConfig fields that put the loss on the answers only."""
    if dataset is None:
        return None, {}
    if has_generation_markers(tokenizer):
        return dataset, {"assistant_only_loss": True}
    from datasets import Dataset

    return (Dataset.from_list(as_prompt_completion(dataset.to_list())),
            {"completion_only_loss": True})


def build_sft(config: TrainConfig, model: Any, tokenizer: Any, train: Any, evaluation: Any,
              args: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from trl import SFTConfig, SFTTrainer

    # Loss on the answers only, whatever the template (see as_prompt_completion).
    train, extra = answer_only(train, tokenizer)
    evaluation, _ = answer_only(evaluation, tokenizer)
    trainer = SFTTrainer(model=model, args=SFTConfig(**args, **extra), train_dataset=train,
                         eval_dataset=evaluation, processing_class=tokenizer,
                         peft_config=lora_config(config))
    return trainer, extra


def build_dpo(config: TrainConfig, model: Any, tokenizer: Any, train: Any, evaluation: Any,
              args: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from trl import DPOConfig, DPOTrainer

    # Over-long prompts are cut from the left here (backends.lib.train_prompts), so TRL's default
    # keep_start drops no pair; its keep_end is deprecated (removed in TRL 2.0).
    train, shortened = fit_prompts(train, tokenizer, config.max_length)
    evaluation, eval_shortened = fit_prompts(evaluation, tokenizer, config.max_length)
    extra: dict[str, Any] = {"beta": config.effective_beta, "loss_type": ["sigmoid"]}
    if config.effective_sft_weight > 0:  # RPO: the preference loss plus imitation of the chosen
        extra.update(loss_type=["sigmoid", "sft"],
                     loss_weights=[1.0, config.effective_sft_weight])
    trainer: Any = DPOTrainer(model=model, args=DPOConfig(**args, **extra), train_dataset=train,
                         eval_dataset=evaluation, processing_class=tokenizer,
                         peft_config=lora_config(config))
    trainer.prompts_shortened = {"train": shortened, "eval": eval_shortened}
    return trainer, extra


def fit_prompts(dataset: Any, tokenizer: Any, max_length: int | None) -> tuple[Any, int]:
    """``dataset`` with its over-long prompts cut from the left, and how many were cut."""
    if dataset is None:
        return None, 0
    from datasets import Dataset

    from backends.lib.train_prompts import fit_pairs

    fitted = fit_pairs(dataset.to_list(), tokenizer, max_length)
    return (Dataset.from_list(fitted.rows) if fitted.shortened else dataset), fitted.shortened


def build_kto(config: TrainConfig, model: Any, tokenizer: Any, train: Any, evaluation: Any,
              args: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from trl import KTOConfig, KTOTrainer

    from backends.lib.kto_accuracy import ACCURACY_KEY, kto_reward_accuracy

    up = sum(1 for label in train["label"] if label)
    auto_up, auto_down = kto_weights(up, len(train) - up)
    extra: dict[str, Any] = {"beta": config.effective_beta,
                             "desirable_weight": config.desirable_weight or auto_up,
                             "undesirable_weight": config.undesirable_weight or auto_down}
    eval_rows = evaluation.to_list() if evaluation is not None else []

    class StudioKTOTrainer(KTOTrainer):
        """Adds held-out reward accuracy to KTO's eval logs, as DPO reports it."""

        def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
            if "eval_loss" in logs:
                # The budget may have cut the held-out sample (backends.lib.train_budget).
                held_out: Any = self.eval_dataset
                shown = len(held_out) if held_out is not None else 0
                accuracy = kto_reward_accuracy(self.model, tokenizer, eval_rows[:shown],
                                               config.effective_beta, config.max_length)
                if accuracy is not None:
                    logs = {**logs, ACCURACY_KEY: accuracy}
            super().log(logs, start_time)

    trainer = StudioKTOTrainer(model=model, args=KTOConfig(**args, **extra), train_dataset=train,
                               eval_dataset=evaluation, processing_class=tokenizer,
                               peft_config=lora_config(config))
    return trainer, extra


Builder = Callable[[TrainConfig, Any, Any, Any, Any, dict[str, Any]], tuple[Any, dict[str, Any]]]
BUILDERS: dict[str, Builder] = {"sft": build_sft, "dpo": build_dpo, "kto": build_kto}
