"""The memory estimate's CPU factors against what bench/bench_memory.py measured on
SmolLM2-135M-Instruct (bench/results/2026-12-03-memory-calibration.txt): one LoRA step (r16,
all linears, dropout 0.05, fp32, SDPA) the way TRL 1.16 runs it, peak RSS above the loaded
model, and the bytes autograd saved inside the decoder layers. No model is loaded here."""

from __future__ import annotations

import pytest

from studio.training.config import TrainConfig
from studio.training.memory import estimate_memory

MB = 2**20
SMOLLM2 = {"hidden_size": 576, "num_hidden_layers": 30, "num_attention_heads": 9,
           "num_key_value_heads": 3, "head_dim": 64, "intermediate_size": 1536,
           "vocab_size": 49152, "tie_word_embeddings": True}
# (method whose head it was, tokens in the step, measured step peak MB, saved in layers MB)
MEASURED = [("sft", 512, 2101, 1015), ("sft", 128, 543, None), ("dpo", 512, 1571, 1015)]


def _estimate(method: str, tokens: int) -> int:
    # DPO's step holds chosen and rejected: 1 pair of tokens/2 each is one sequence of tokens.
    length = tokens // 2 if method == "dpo" else tokens
    config = TrainConfig.for_method(method, "m", "balanced", batch_size=1, max_length=length)
    return estimate_memory(config, SMOLLM2, "cpu").activations


@pytest.mark.parametrize(("method", "tokens", "peak_mb", "layers_mb"), MEASURED)
def test_the_step_estimate_matches_the_measured_peak(method: str, tokens: int, peak_mb: int,
                                                     layers_mb: int | None) -> None:
    estimate = _estimate(method, tokens) / MB
    assert abs(estimate / peak_mb - 1) < 0.06, f"{method} {tokens}: {estimate:.0f} vs {peak_mb}"


def test_the_layers_share_is_what_autograd_saved() -> None:
    """The head's share is the rest: the SFT and DPO heads differ, the layers do not."""
    sft, dpo = _estimate("sft", 512), _estimate("dpo", 512)
    layers = 30.1 * 512 * 576 * 4 * 30
    assert abs(layers / MB / 1015 - 1) < 0.02
    assert abs((sft - dpo) / MB - (2101 - 1571)) < 40


def test_kto_pays_gradients_for_half_of_its_sequences() -> None:
    """KTO's KL half runs without gradients (TRL 1.16), so it costs less than DPO's pairs."""
    kto = TrainConfig.for_method("kto", "m", "balanced", batch_size=4, max_length=256)
    dpo = TrainConfig.for_method("dpo", "m", "balanced", batch_size=4, max_length=256)
    assert estimate_memory(kto, SMOLLM2, "cpu").activations < \
        estimate_memory(dpo, SMOLLM2, "cpu").activations


def test_grpo_counts_its_sampled_answers_not_max_length() -> None:
    """A GRPO step trains on batch_size x num_generations answers with their prompts; its
    max_length is unused, and the advice to shrink it names GRPO's own settings."""
    def grpo(**values: int) -> TrainConfig:
        return TrainConfig.for_method("grpo", "m", "balanced", batch_size=2, **values)

    base = estimate_memory(grpo(), SMOLLM2, "cpu").activations
    assert estimate_memory(grpo(max_length=64), SMOLLM2, "cpu").activations == base
    assert estimate_memory(grpo(num_generations=16), SMOLLM2, "cpu").activations > 1.9 * base
    assert estimate_memory(grpo(max_completion_length=256), SMOLLM2, "cpu").activations > base
    refused = estimate_memory(grpo(), SMOLLM2, "cpu").check(1, "cpu")
    assert refused.level == "error"
    assert "num_generations or max_completion_length" in refused.message


def test_grpo_uses_the_longest_prompt_when_pre_flight_knows_it() -> None:
    config = TrainConfig.for_method("grpo", "m", "balanced", batch_size=2)
    short = estimate_memory(config, SMOLLM2, "cpu", prompt_tokens=40).activations
    long = estimate_memory(config, SMOLLM2, "cpu", prompt_tokens=1000).activations
    assert short < estimate_memory(config, SMOLLM2, "cpu").activations < long
