"""Trainer builders for the reference-free pairwise losses: SimPO and ORPO.

Both read the same DPO pair snapshot (prompt, chosen, rejected) and keep no reference model,
so a step costs one forward pass over the pair instead of DPO's two. TRL 1.16 ships them
under ``trl.experimental``: SimPO is the CPO trainer with ``loss_type="simpo"`` and
``cpo_alpha`` = ``sft_weight`` (1 by default: CPO-SimPO, which kept a real model's answers
fluent; 0 is the paper's pure SimPO), ORPO has its own trainer. Both log
``rewards/accuracies`` and ``rewards/margins`` like DPO, on train and eval.

Heavy libraries are imported inside the functions (ruff TID253).
"""

from __future__ import annotations

import warnings
from typing import Any

from backends.lib.train_setup import Builder, lora_config
from studio.training.config import TrainConfig


def _experimental(args: dict[str, Any]) -> dict[str, Any]:
    """TRL warns on import that these trainers may change; we pin TRL, so the log needn't.
    Their batches have no ``input_ids`` key (chosen_/rejected_ ids), so transformers cannot
    count tokens seen and warns every step: switch the count off."""
    warnings.filterwarnings("ignore", message=".*experimental.*", category=UserWarning)
    return {**args, "include_num_input_tokens_seen": False}


def build_simpo(config: TrainConfig, model: Any, tokenizer: Any, train: Any, evaluation: Any,
                args: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    args = _experimental(args)
    from trl.experimental.cpo import CPOConfig, CPOTrainer

    # cpo_alpha is the imitation weight: CPO-SimPO by default, the paper's SimPO at 0.
    extra: dict[str, Any] = {"loss_type": "simpo", "cpo_alpha": config.effective_sft_weight,
                             "beta": config.effective_beta, "simpo_gamma": config.simpo_gamma}
    trainer = CPOTrainer(model=model, args=CPOConfig(**args, **extra), train_dataset=train,
                         eval_dataset=evaluation, processing_class=tokenizer,
                         peft_config=lora_config(config))
    return trainer, extra


def build_orpo(config: TrainConfig, model: Any, tokenizer: Any, train: Any, evaluation: Any,
               args: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    args = _experimental(args)
    from trl.experimental.orpo import ORPOConfig, ORPOTrainer

    extra: dict[str, Any] = {"beta": config.effective_beta}
    trainer = ORPOTrainer(model=model, args=ORPOConfig(**args, **extra), train_dataset=train,
                          eval_dataset=evaluation, processing_class=tokenizer,
                          peft_config=lora_config(config))
    return trainer, extra


BUILDERS: dict[str, Builder] = {"simpo": build_simpo, "orpo": build_orpo}
