"""A memory estimate of a training run, from the model's config.json alone.

weights + trainable state (gradients and AdamW moments, fp32) + activations + the head's
temporaries + the runtime itself. DPO and KTO score twice the sequences of a batch
(chosen/rejected, or completion/KL); with LoRA their reference model is the base with the
adapter switched off, so only full fine-tuning pays for a second copy of the weights.

The per-token factors on CPU are measured, not taken from a paper: ``bench/bench_memory.py``
runs one LoRA step of SmolLM2-135M the way TRL 1.16 does (its fused LM head) and splits the
peak RSS it adds into what autograd saves inside the layers and the rest
(bench/results/2026-12-03-memory-calibration.txt), and measures whole runs of every method
against this estimate (bench/results/*-memory-methods-cpu.txt; tests/test_memory_calibration.py
pins the factors to those numbers). The CUDA head factor is a model of TRL's Triton kernel;
bench/gpu_check.sh measures it against ``torch.cuda.max_memory_allocated``.
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
# torch + transformers + TRL after import: a whole run on the 2M-parameter demo model peaks at
# 515-545 MB (bench/results/2026-12-07-memory-methods-cpu.txt).
RUNTIME_BYTES = int(0.5 * GB)
# What autograd keeps per token in one decoder layer (no checkpointing; LoRA with dropout on
# every linear, so each adapted linear keeps its own dropped-out input; SDPA), in values of the
# widths: hidden (norm inputs and outputs, the dropped-out inputs of q/k/v/gate/up), the query
# width (q before and after RoPE, the attention output, o_proj's inputs), the key/value width
# (k before and after RoPE, v) and the MLP width (gate, SiLU, up, their product, down's inputs).
LAYER_WIDTHS = {"hidden": 10.25, "q": 5.25, "kv": 3.0, "intermediate": 5.25}
# ... scaled to what bench/bench_memory.py --breakdown-only measured on SmolLM2-135M: 30.1
# values per hidden unit (bench/results/2026-12-03-memory-calibration.txt), where the count
# above gives 30.5.
LAYER_SCALE = 30.1 / 30.5
# TRL 1.16's fused LM head never holds the [tokens, vocab] logits: it projects tiles of at most
# 4096 tokens x 32768 vocabulary entries and folds each into running sums, so its temporaries
# stop growing at a tile. On CPU (no Triton) it scores every position and the tile's torch ops
# make copies: measured, 17.0 tile-sized fp32 buffers per token for SFT's head (log-probs,
# entropy, top-1 for the metrics) and 8.7 for the log-probs-only head of DPO, KTO, SimPO and
# ORPO (SmolLM2, 512 tokens: 2101 and 1571 MB step peaks). GRPO's whole runs on SmolLM2 peak
# higher than its head (log-probs and entropy) explains: with SFT's 17 they came out 18-20% low;
# 30 puts them within 7% and the demo model's long-prompt runs within 13% (bench/results/
# 2026-12-07-memory-methods-cpu.txt; the extra is measured, not yet attributed). On CUDA a
# Triton kernel folds the tile in place and only the scored positions are projected: the tile
# and its gradient, in the compute precision.
HEAD_TOKENS, HEAD_VOCAB = 4096, 32768
HEAD_TILES = {("cpu", "sft"): 17.0, ("cpu", "pairs"): 8.7, ("cpu", "grpo"): 30.0,
              ("cuda", "sft"): 2.0, ("cuda", "pairs"): 2.0, ("cuda", "grpo"): 2.0}
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
    def layer_values(self) -> float:
        """Values autograd keeps per token in one decoder layer (see LAYER_WIDTHS)."""
        widths = {"hidden": self.hidden, "q": self.q_width, "kv": self.kv_width,
                  "intermediate": self.intermediate}
        return LAYER_SCALE * sum(LAYER_WIDTHS[name] * width for name, width in widths.items())

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

    def check(self, free: int, device: str, fix: str | None = None) -> Check:
        """``fix``: the change that would fit (``fitting_change``), named in a refusal."""
        need = f"training needs {self.describe()}; {free / GB:.1f} GB is free on {device}"
        if self.total > free:
            if fix:
                return Check("error", "memory", need + f". To fit, {fix}; or turn on"
                             " gradient checkpointing, or use QLoRA")
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
    act_bytes = 2 if half else 4
    if grpo:
        layer_tokens, head_tokens, generation = _grpo_tokens(config, shape, prompt_tokens,
                                                             act_bytes, kind)
    else:
        sequences = config.batch_size * config.max_length
        # DPO, SimPO and ORPO train on chosen and rejected together, in one forward pass.
        # KTO's KL half (and every reference pass) is a pass of its own without gradients:
        # its head's temporaries are freed before the trained pass, so they add nothing
        # (measured: KTO 4x128 on SmolLM2, bench/results/2026-12-07-memory-methods-cpu.txt).
        layer_tokens = sequences * (1 if config.method in {"sft", "kto"} else 2)
        head_tokens = layer_tokens
        generation = 0
    checkpointing = config.gradient_checkpointing
    if checkpointing is None:
        checkpointing = device == "cuda"
    per_layer = shape.layer_values * layer_tokens * act_bytes
    layers_held = 1 if checkpointing else shape.layers
    activations = per_layer * layers_held + (2 * layer_tokens * shape.hidden * act_bytes
                                             * shape.layers if checkpointing else 0)
    head = "grpo" if grpo else "sft" if config.method == "sft" else "pairs"
    tile_bytes = 4 if kind == "cpu" else act_bytes
    activations += (HEAD_TILES[(kind, head)] * min(head_tokens, HEAD_TOKENS)
                    * min(shape.vocab, HEAD_VOCAB) * tile_bytes)
    # Sampling (no gradients) and the training step do not overlap: the larger one is the peak.
    activations = max(activations, generation)
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


def _grpo_tokens(config: TrainConfig, shape: Shape, prompt_tokens: int | None,
                 act_bytes: int, kind: str) -> tuple[int, int, int]:
    """(tokens whose activations the layers keep, tokens the head computes logits for, bytes
    of the sampling phase) of one GRPO step, the way TRL 1.16 runs it.

    A step trains on batch_size x num_generations sampled answers, each after its prompt
    (left-padded to the longest in the batch; the longest of the snapshot is the worst case).
    The forward pass runs over prompt + answer, so every layer keeps the prompt's activations
    too. TRL labels only the answer (``logits_to_keep``): on CUDA its head projects those
    positions alone; on CPU it scores every position and masks the prompt's afterwards.
    Sampling holds the KV cache of every sequence plus one layer's transients of the prefill.
    """
    answers = config.batch_size * config.num_generations
    prompt = prompt_tokens or GRPO_PROMPT_TOKENS
    layer_tokens = answers * (prompt + config.max_completion_length)
    head_tokens = answers * config.max_completion_length if kind == "cuda" else layer_tokens
    kv_cache = 2 * shape.layers * shape.kv_width * layer_tokens * act_bytes
    prefill = answers * prompt * (4 * shape.hidden + 3 * shape.intermediate) * act_bytes
    return layer_tokens, head_tokens, kv_cache + prefill


def fitting_change(config: TrainConfig, model_config: dict[str, Any], device: str,
                   free: int, prompt_tokens: int | None = None) -> str | None:
    """The smallest change of one setting (or, failing that, of the first two) that brings the
    estimate under ``free``: "lower batch_size from 8 to 2 (about 3.10 GB)"; None when no
    such change fits."""
    from dataclasses import replace

    def total(candidate: TrainConfig) -> int:
        return estimate_memory(candidate, model_config, device, prompt_tokens).total

    def fits(candidate: TrainConfig) -> bool:
        return total(candidate) <= free

    steps = _shrink_steps(config)
    for name, values in steps:
        for value in values:
            changes: dict[str, Any] = {name: value}
            smaller = replace(config, **changes)
            if fits(smaller):
                return f"lower {name} from {getattr(config, name)} to {value}" \
                       f" (about {total(smaller) / GB:.2f} GB)"
    if len(steps) >= 2:  # the first setting at its floor, then the second
        (first, floor), (second, values) = (steps[0][0], steps[0][1][-1]), steps[1]
        for value in values:
            both: dict[str, Any] = {first: floor, second: value}
            smaller = replace(config, **both)
            if fits(smaller):
                return (f"lower {first} from {getattr(config, first)} to {floor} and {second}"
                        f" from {getattr(config, second)} to {value} (about"
                        f" {total(smaller) / GB:.2f} GB)")
    return None


def _shrink_steps(config: TrainConfig) -> list[tuple[str, list[int]]]:
    """Each setting that shrinks the activations, with its smaller values, largest first."""
    def down(value: int, floor: int, halve: bool = False) -> list[int]:
        if halve:
            out, v = [], value // 2
            while v >= floor:
                out.append(v)
                v //= 2
            return out
        return list(range(value - 1, floor - 1, -1))

    min_batch = 4 if config.method == "kto" else 1
    steps = [("batch_size", down(config.batch_size, min_batch))]
    if config.method == "grpo":
        steps += [("num_generations", down(config.num_generations, 2)),
                  ("max_completion_length", down(config.max_completion_length, 16, True))]
    else:
        steps.append(("max_length", down(config.max_length, 64, True)))
    return [(name, values) for name, values in steps if values]


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
