"""A memory estimate of a training run, from the model's config.json alone.

weights + trainable state (gradients and AdamW moments, fp32) + activations + the head's
temporaries + the runtime itself. DPO and KTO score twice the sequences of a batch
(chosen/rejected, or completion/KL); with LoRA their reference model is the base with the
adapter switched off, so only full fine-tuning pays for a second copy of the weights.

The per-token factors on CPU are measured, not taken from a paper: ``bench/bench_memory.py``
runs one LoRA step of SmolLM2-135M the way TRL 1.16 does (its fused LM head) and splits the
peak RSS it adds into what autograd saves inside the layers and the rest
(bench/results/2026-12-03-memory-calibration.txt; tests/test_memory_calibration.py pins the
factors to those numbers). GPU factors are the published ones: no GPU was at hand to measure.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psutil

from studio.training.checks import Check

if TYPE_CHECKING:
    from studio.training.config import TrainConfig

GB = 1024**3
RUNTIME_BYTES = int(0.6 * GB)  # torch + transformers + TRL after import (measured ~530 MB)
# Per token per hidden unit per decoder layer, the values autograd keeps for the backward pass
# (no checkpointing). CPU, measured on SmolLM2 (fp32, SDPA, LoRA with dropout on every linear,
# so each adapted layer keeps its own dropped-out input): 30.1. GPU: Korthikanti et al.'s 17.
LAYER_VALUES = {"cpu": 30.1, "cuda": 17.0}
# The rest of a step's peak per token, in fp32 rows of the logits: TRL's fused head computes
# them in one chunk up to 32k tokens, plus the backward pass's transient buffers and the freed
# blocks glibc's allocator keeps mapped. CPU, measured: 11.3 rows for SFT (its head also computes
# entropy and top-1 for the metrics), 5.8 for the log-probs-only head of DPO, KTO and the rest.
# GPU: the logits and their gradient.
LOGIT_ROWS = {("cpu", "sft"): 11.3, ("cpu", "pairs"): 5.8, ("cuda", "sft"): 2.0,
              ("cuda", "pairs"): 2.0}
# GRPO trains on sampled answers, not on examples cut at max_length: a step holds
# batch_size x num_generations sequences of prompt + answer, padded to the longest prompt.
# Pre-flight passes that length from the snapshot; without one, this allowance covers a chat
# prompt with a system prompt (SmolLM2's rule task: 40-90 tokens).
GRPO_PROMPT_TOKENS = 256
LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    vocab: int
    intermediate: int
    q_width: int
    kv_width: int
    tied: bool

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Shape:
        text = config.get("text_config") or config
        hidden = int(text.get("hidden_size") or text.get("n_embd") or text.get("d_model") or 0)
        heads = int(text.get("num_attention_heads") or text.get("n_head") or 1)
        head_dim = int(text.get("head_dim") or hidden // max(heads, 1))
        kv_heads = int(text.get("num_key_value_heads") or heads)
        return cls(hidden=hidden,
                   layers=int(text.get("num_hidden_layers") or text.get("n_layer") or 0),
                   vocab=int(text.get("vocab_size") or 0),
                   intermediate=int(text.get("intermediate_size") or text.get("n_inner")
                                    or 4 * hidden),
                   q_width=heads * head_dim, kv_width=kv_heads * head_dim,
                   tied=bool(config.get("tie_word_embeddings", False)))

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        h, i = self.hidden, self.intermediate
        return {"q_proj": (h, self.q_width), "k_proj": (h, self.kv_width),
                "v_proj": (h, self.kv_width), "o_proj": (self.q_width, h),
                "gate_proj": (h, i), "up_proj": (h, i), "down_proj": (i, h)}

    @property
    def params(self) -> int:
        per_layer = sum(a * b for a, b in self.linear_shapes().values())
        return self.layers * per_layer + self.vocab * self.hidden * (1 if self.tied else 2)

    def lora_params(self, rank: int, targets: str) -> int:
        shapes = self.linear_shapes()
        names = LINEARS if targets.strip() == "all-linear" else [
            name.strip() for name in targets.split(",") if name.strip()]
        per_layer = sum(rank * sum(shapes.get(name, (self.hidden, self.hidden)))
                        for name in names)
        return self.layers * per_layer


@dataclass(frozen=True)
class MemoryEstimate:
    weights: int
    training_state: int
    activations: int
    reference: int
    note: str
    lower: str = "batch_size or max_length"  # the settings that shrink the activations

    @property
    def total(self) -> int:
        return self.weights + self.training_state + self.activations + self.reference \
            + RUNTIME_BYTES

    def describe(self) -> str:
        def gb(value: int) -> str:
            return f"{value / GB:.2f}"

        return (f"about {gb(self.total)} GB (weights {gb(self.weights)}, gradients + optimizer"
                f" {gb(self.training_state)}, activations {gb(self.activations)}"
                + (f", reference copy {gb(self.reference)}" if self.reference else "")
                + f"); {self.note}")

    def check(self, free: int, device: str) -> Check:
        need = f"training needs {self.describe()}; {free / GB:.1f} GB is free on {device}"
        if self.total > free:
            return Check("error", "memory", need + f". Lower {self.lower}, turn on gradient"
                         " checkpointing, or use QLoRA")
        if self.total > 0.85 * free:
            return Check("warning", "memory", need + " (tight)")
        return Check("info", "memory", need)


def estimate_memory(config: TrainConfig, model_config: dict[str, Any],
                    device: str, prompt_tokens: int | None = None) -> MemoryEstimate:
    """The peak of one training step; ``prompt_tokens`` is GRPO's longest prompt, when the
    snapshot is at hand."""
    shape = Shape.from_config(model_config)
    half = device == "cuda" and config.precision != "fp32"
    weight_bytes = 0.5625 if config.adapter == "qlora" else (2 if half else 4)
    weights = int(shape.params * weight_bytes)
    full = config.adapter == "full"
    trainable = shape.params if full else shape.lora_params(config.lora_r, config.target_modules)
    # fp32 gradient + two AdamW moments, plus an fp32 master copy when the weights are half.
    state = trainable * (12 + (4 if full and half else 0))
    paired = config.method in {"dpo", "kto"}
    kind = "cuda" if device == "cuda" else "cpu"  # Apple's unified memory behaves like RAM
    grpo = config.method == "grpo"
    if grpo:
        sequences = config.batch_size * config.num_generations * (
            (prompt_tokens or GRPO_PROMPT_TOKENS) + config.max_completion_length)
    else:
        sequences = config.batch_size * config.max_length
    # DPO, SimPO and ORPO train on chosen and rejected together; KTO's KL half (and every
    # reference pass) runs without gradients, so only the head's temporaries count for it.
    grad_tokens = sequences * (1 if config.method in {"sft", "kto", "grpo"} else 2)
    free_tokens = sequences if config.method == "kto" else 0
    act_bytes = 2 if half else 4
    checkpointing = config.gradient_checkpointing
    if checkpointing is None:
        checkpointing = device == "cuda"
    per_layer = LAYER_VALUES[kind] * grad_tokens * shape.hidden * act_bytes
    layers_held = 1 if checkpointing else shape.layers
    activations = per_layer * layers_held + (2 * grad_tokens * shape.hidden * act_bytes
                                             * shape.layers if checkpointing else 0)
    rows = LOGIT_ROWS[(kind, "sft" if config.method == "sft" else "pairs")]
    activations += (grad_tokens + free_tokens) * shape.vocab * 4 * rows
    reference = weights if full and paired else 0
    if paired:
        note = ("the reference is a second copy of the model" if reference else
                f"{config.method.upper()} with LoRA uses the base as its reference, so there is"
                " no second model copy")
    else:
        note = f"{config.method.upper()} has no reference model"
    lower = ("batch_size, num_generations or max_completion_length" if grpo
             else "batch_size or max_length")
    return MemoryEstimate(weights, state, int(activations), reference, note, lower)


def free_memory(preference: str = "auto") -> tuple[str, int]:
    """(device, free bytes) of the device a run would use: the first CUDA GPU when nvidia-smi
    sees one, else system memory (shared with the GPU on Apple silicon)."""
    if preference in {"auto", "cuda"} and shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
                capture_output=True, text=True, timeout=10, check=True).stdout.split()
        except (OSError, subprocess.SubprocessError):
            out = []
        if out and out[0].isdigit():
            return "cuda", int(out[0]) * 1024**2
    device = "mps" if preference in {"auto", "mps"} and sys.platform == "darwin" else "cpu"
    return device, int(psutil.virtual_memory().available)
