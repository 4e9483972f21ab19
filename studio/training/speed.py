"""Fast defaults, chosen per device: what a run turns on to go fast, and why.

A pure function of the device, the run's config, the memory estimate and which optional
packages are installed, so every decision is unit-tested without a GPU. The backend applies
the plan and reports it in the ``started`` event (``speed``), which the Train page shows.

- CUDA: bf16 where supported (else fp16); Liger kernels when ``liger-kernel`` is installed;
  padding-free SFT batches (position ids keep examples apart) when FlashAttention is there to
  honour them; DPO/KTO reference log-probs precomputed once with LoRA; SDPA or FlashAttention;
  QLoRA when the model would not fit otherwise; gradient checkpointing only when memory needs it.
- CPU (and MPS): the same code path in fp32, one thread per available core, no gradient
  checkpointing unless memory needs it (it costs 20-40% per step there).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

# Above this share of free memory the estimate says "tight": checkpointing (or QLoRA) then.
TIGHT = 0.85
# Checkpointing keeps roughly one layer's activations instead of all of them.
CHECKPOINTING_SAVES = 0.7


@dataclass(frozen=True)
class Device:
    """What the backend found: ``kind`` is cuda, mps or cpu."""

    kind: str
    bf16: bool = False  # CUDA only: torch.cuda.is_bf16_supported()
    free_bytes: int = 0
    cores: int = 1


@dataclass(frozen=True)
class SpeedPlan:
    precision: str  # bf16 | fp16 | fp32
    gradient_checkpointing: bool
    attention: str  # flash_attention_2 | sdpa
    liger: bool
    padding_free: bool
    precompute_ref_log_probs: bool
    qlora: bool
    threads: int | None
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def available_cores() -> int:
    """Cores this process may run on (affinity and cgroup-limited where the OS says so)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def choose(device: Device, method: str, adapter: str, need_bytes: int,
           activation_bytes: int, installed: frozenset[str] | set[str],
           precision: str = "auto", checkpointing: bool | None = None) -> SpeedPlan:
    """The plan for a run. ``need_bytes`` is the memory estimate without checkpointing and
    ``activation_bytes`` its activation part; ``installed`` names importable packages."""
    reasons: list[str] = []
    cuda = device.kind == "cuda"
    chosen = _precision(device, precision, reasons)
    fits = need_bytes <= TIGHT * device.free_bytes if device.free_bytes else True
    use_checkpointing, qlora = _memory_choices(device, adapter, need_bytes, activation_bytes,
                                               fits, checkpointing, installed, reasons)
    flash = cuda and "flash_attn" in installed
    attention = "flash_attention_2" if flash else "sdpa"
    reasons.append("attention: FlashAttention 2" if flash else "attention: PyTorch SDPA")
    liger = cuda and "liger_kernel" in installed
    if cuda:
        reasons.append("Liger kernels on" if liger else
                       "Liger kernels off (pip install liger-kernel to fuse the loss)")
    padding_free = method == "sft" and flash
    if method == "sft" and cuda and not flash:
        reasons.append("padding-free batches off: they need FlashAttention to keep packed"
                       " examples apart")
    elif padding_free:
        reasons.append("padding-free SFT batches: no compute spent on padding")
    precompute = cuda and method in {"dpo", "kto"} and adapter in {"lora", "qlora"}
    if precompute:
        reasons.append("reference log-probs computed once before training (LoRA reference ="
                       " the base with the adapter off)")
    threads = device.cores if device.kind == "cpu" else None
    if threads:
        reasons.append(f"{threads} CPU threads (one per available core)")
    return SpeedPlan(chosen, use_checkpointing, attention, liger, padding_free, precompute,
                     qlora, threads, reasons)


def _precision(device: Device, requested: str, reasons: list[str]) -> str:
    if requested != "auto":
        reasons.append(f"precision {requested} (as configured)")
        return requested
    if device.kind == "cuda":
        chosen = "bf16" if device.bf16 else "fp16"
        reasons.append(f"precision {chosen} ({'bf16 supported' if device.bf16 else 'no bf16'})")
        return chosen
    reasons.append(f"precision fp32 on {device.kind}")
    return "fp32"


def _memory_choices(device: Device, adapter: str, need: int, activations: int, fits: bool,
                    requested: bool | None, installed: frozenset[str] | set[str],
                    reasons: list[str]) -> tuple[bool, bool]:
    """(gradient checkpointing, QLoRA): only what the memory estimate says is needed."""
    if requested is not None:
        reasons.append("gradient checkpointing " + ("on" if requested else "off")
                       + " (as configured)")
        return requested, adapter == "qlora"
    if fits:
        reasons.append("gradient checkpointing off: the run fits in memory without it")
        return False, adapter == "qlora"
    with_checkpointing = need - int(CHECKPOINTING_SAVES * activations)
    if with_checkpointing <= TIGHT * device.free_bytes or adapter != "lora":
        reasons.append("gradient checkpointing on: memory needs it")
        return True, adapter == "qlora"
    if device.kind == "cuda" and "bitsandbytes" in installed:
        reasons.append("QLoRA (4-bit base) and gradient checkpointing: the model does not fit"
                       " otherwise")
        return True, True
    reasons.append("gradient checkpointing on: memory needs it (and it may still not fit)")
    return True, False
