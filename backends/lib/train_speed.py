"""Apply :mod:`studio.training.speed`'s plan to a run: trainer arguments, threads, attention.

The decisions are made by the pure function in studio; this module only gathers what it needs
(the device, free memory, the memory estimate, installed packages) and applies the result.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

from studio.registry.locate import resolve_model_dir
from studio.training.config import TrainConfig
from studio.training.memory import estimate_memory
from studio.training.speed import Device, SpeedPlan, available_cores, choose

OPTIONAL = ("liger_kernel", "flash_attn", "bitsandbytes")


def installed() -> frozenset[str]:
    return frozenset(name for name in OPTIONAL if importlib.util.find_spec(name) is not None)


def detect_device(kind: str) -> Device:
    import psutil
    import torch

    if kind == "cuda":
        free, _total = torch.cuda.mem_get_info()
        return Device("cuda", bf16=torch.cuda.is_bf16_supported(), free_bytes=int(free),
                      cores=available_cores())
    return Device(kind, free_bytes=int(psutil.virtual_memory().available),
                  cores=available_cores())


def plan_run(config: TrainConfig, device_kind: str, precision: str) -> SpeedPlan:
    """The plan for ``config`` on this machine (``precision`` as the backend resolved it)."""
    folder = resolve_model_dir(config.model)
    model_config: dict[str, Any] = {}
    if folder is not None and (folder / "config.json").is_file():
        model_config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    unchecked = TrainConfig.from_dict({**config.to_dict(), "gradient_checkpointing": False})
    estimate = estimate_memory(unchecked, model_config, device_kind)
    return choose(detect_device(device_kind), config.method, config.adapter, estimate.total,
                  estimate.activations, installed(), precision, config.gradient_checkpointing)


def apply(plan: SpeedPlan, method: str, args: dict[str, Any]) -> None:
    """Put the plan into the trainer arguments (and the process's thread count)."""
    args["activation_checkpointing"] = plan.gradient_checkpointing
    if plan.liger:
        args["use_liger_kernel"] = True
    if plan.padding_free and method == "sft":
        args["padding_free"] = True
    if plan.precompute_ref_log_probs and method in {"dpo", "kto"}:
        args["precompute_ref_log_probs"] = True
    if plan.threads:
        import torch

        torch.set_num_threads(plan.threads)


def apply_to_model(plan: SpeedPlan, model: Any) -> None:
    """FlashAttention when the plan chose it (SDPA is transformers' default already)."""
    setter = getattr(model, "set_attn_implementation", None)
    if plan.attention == "flash_attention_2" and setter is not None:
        setter("flash_attention_2")
