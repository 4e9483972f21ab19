"""The memory estimate's CPU factors against what bench/bench_memory.py measured: one LoRA step
of SmolLM2-135M-Instruct (r16, all linears, dropout 0.05, fp32, SDPA) the way TRL 1.16 runs it,
peak RSS above the loaded model and the bytes autograd saved inside the decoder layers
(bench/results/2026-12-03-memory-calibration.txt); and whole runs of every method, SmolLM2 and
the demo model, against the estimate (bench/results/2026-12-07-memory-methods-cpu.txt). No
model is loaded here."""

from __future__ import annotations

from dataclasses import replace

import pytest

from studio.training.config import TrainConfig
from studio.training.memory import Shape, estimate_memory, fitting_change

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
    layers = Shape.from_config(SMOLLM2).layer_values * 512 * 4 * 30
    assert abs(layers / MB / 1015 - 1) < 0.02
    assert abs((sft - dpo) / MB - (2101 - 1571)) < 40


def test_the_layer_count_follows_the_widths() -> None:
    """Per token and layer: the demo model (MLP 2x its width) keeps fewer values per hidden
    unit than SmolLM2 (2.67x), a wide-MLP shape more."""
    def per_hidden(**widths: int) -> float:
        shape = Shape.from_config({**SMOLLM2, **widths})
        return shape.layer_values / shape.hidden

    assert abs(per_hidden() - 30.1) < 0.05
    demo = per_hidden(hidden_size=256, intermediate_size=512, num_attention_heads=4,
                      num_key_value_heads=2, head_dim=64)
    qwen = per_hidden(hidden_size=896, intermediate_size=4864, num_attention_heads=14,
                      num_key_value_heads=2, head_dim=64)
    assert 25 < demo < 30.1 < qwen


def test_the_fused_head_stops_growing_at_a_tile() -> None:
    """TRL's head works in tiles of 4096 tokens: past that only the layers grow."""
    def acts(batch: int) -> int:
        config = TrainConfig.for_method("sft", "m", batch_size=batch, max_length=1024)
        return estimate_memory(config, SMOLLM2, "cpu").activations

    layers_per_sequence = Shape.from_config(SMOLLM2).layer_values * 1024 * 4 * 30
    assert abs(acts(8) - acts(4) - 4 * layers_per_sequence) < MB
    assert acts(4) - acts(2) > 2 * layers_per_sequence + 1000 * MB  # below the tile: head too


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

    def acts(config: TrainConfig) -> int:  # a short chat prompt: below the head's tile
        return estimate_memory(config, SMOLLM2, "cpu", prompt_tokens=40).activations

    base = acts(grpo())
    assert acts(grpo(max_length=64)) == base
    assert acts(grpo(num_generations=16)) > 1.9 * base
    assert acts(grpo(max_completion_length=256)) > base
    refused = estimate_memory(grpo(), SMOLLM2, "cpu").check(1, "cpu")
    assert refused.level == "error"
    assert "num_generations or max_completion_length" in refused.message


def test_grpo_uses_the_longest_prompt_when_pre_flight_knows_it() -> None:
    config = TrainConfig.for_method("grpo", "m", "balanced", batch_size=2)
    short = estimate_memory(config, SMOLLM2, "cpu", prompt_tokens=40).activations
    long = estimate_memory(config, SMOLLM2, "cpu", prompt_tokens=1000).activations
    assert short < estimate_memory(config, SMOLLM2, "cpu").activations < long


def test_grpo_scores_the_answer_not_the_prompt_on_cuda() -> None:
    """TRL asks for the answer's log-probs only: on CUDA its head projects those positions
    alone, so a longer prompt grows the layers' share only. On CPU it scores every position
    (and masks the prompt's), up to its tile."""
    config = TrainConfig.for_method("grpo", "m", "balanced", batch_size=1, num_generations=4,
                                    gradient_checkpointing=False)
    shape = Shape.from_config(SMOLLM2)

    def acts(device: str, prompt: int) -> int:
        return estimate_memory(config, SMOLLM2, device, prompt_tokens=prompt).activations

    layers = shape.layer_values * 4 * 100 * shape.layers  # 100 more prompt tokens x 4 answers
    assert abs(acts("cuda", 300) - acts("cuda", 200) - 2 * layers) < 2 * MB  # bf16: 2 bytes
    assert acts("cpu", 300) - acts("cpu", 200) > 4 * layers  # fp32 layers + the head's tile


def test_a_refusal_names_the_setting_and_the_value_that_fits() -> None:
    model = {**SMOLLM2}
    config = TrainConfig.for_method("sft", "m", "balanced", batch_size=8, max_length=1024)
    need = estimate_memory(config, model, "cpu").total
    free = need // 2
    fix = fitting_change(config, model, "cpu", free)
    assert fix is not None
    assert fix.startswith("lower batch_size from 8 to ")
    value = int(fix.split(" to ")[1].split()[0])
    fits = estimate_memory(replace(config, batch_size=value), model, "cpu").total
    assert fits <= free < estimate_memory(replace(config, batch_size=value + 1), model,
                                          "cpu").total
    check = estimate_memory(config, model, "cpu").check(free, "cpu", fix)
    assert check.level == "error"
    assert f"To fit, lower batch_size from 8 to {value} (about" in check.message
    # Batch 1 still too big: the next setting, with the batch at its floor.
    tight = estimate_memory(replace(config, batch_size=1, max_length=256), model, "cpu").total
    both = fitting_change(config, model, "cpu", tight)
    assert both is not None
    assert both.startswith("lower batch_size from 8 to 1 and max_length from 1024 to 256")
    assert fitting_change(config, model, "cpu", 1) is None


def test_grpo_refusal_names_its_own_settings() -> None:
    config = TrainConfig.for_method("grpo", "m", "balanced", batch_size=4)
    small = replace(config, batch_size=1, num_generations=4)
    free = estimate_memory(small, SMOLLM2, "cpu", prompt_tokens=2000).total
    fix = fitting_change(config, SMOLLM2, "cpu", free, prompt_tokens=2000)
    assert fix is not None
    assert fix.startswith("lower batch_size from 4 to 1 and num_generations from 8 to ")


DEMO = {"hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 64, "intermediate_size": 512, "vocab_size": 1000}
# Whole training runs (the backend, 2 steps, examples that fill max_length), peak RSS from
# os.wait4: bench/results/2026-12-07-memory-methods-cpu.txt. (model, method, size, longest GRPO
# prompt in tokens, measured MB); sizes are BATCHxLENGTH or PROMPTSxGENERATIONSxCOMPLETION.
WHOLE_RUNS = [
    (SMOLLM2, "sft", "2x128", 0, 2158), (SMOLLM2, "sft", "2x512", 0, 5301),
    (SMOLLM2, "dpo", "2x128", 0, 2569), (SMOLLM2, "dpo", "2x512", 0, 7692),
    (SMOLLM2, "kto", "4x128", 0, 2707), (SMOLLM2, "kto", "4x512", 0, 7697),
    (SMOLLM2, "simpo", "2x128", 0, 2720), (SMOLLM2, "simpo", "2x512", 0, 6863),
    (SMOLLM2, "orpo", "2x128", 0, 2729), (SMOLLM2, "orpo", "2x512", 0, 6918),
    (SMOLLM2, "grpo", "1x4x32", 14, 2287), (SMOLLM2, "grpo", "2x4x64", 14, 4465),
    (DEMO, "sft", "1x64", 0, 540), (DEMO, "dpo", "1x64", 0, 546), (DEMO, "kto", "4x64", 0, 564),
    (DEMO, "simpo", "1x64", 0, 532), (DEMO, "orpo", "1x64", 0, 533),
    (DEMO, "grpo", "1x2x8", 20, 535),
    # GRPO on prompts of 4310 tokens: the layers keep them, the head's tiles stop at 4096.
    (DEMO, "grpo", "1x4x32", 4310, 1693), (DEMO, "grpo", "1x8x64", 4310, 2571),
]


@pytest.mark.parametrize(("model", "method", "size", "prompt", "peak_mb"), WHOLE_RUNS)
def test_every_methods_whole_run_peak_is_within_15_percent(model: dict[str, object],
                                                           method: str, size: str, prompt: int,
                                                           peak_mb: int) -> None:
    numbers = [int(n) for n in size.split("x")]
    if method == "grpo":
        config = TrainConfig.for_method("grpo", "m", "balanced", batch_size=numbers[0],
                                        num_generations=numbers[1],
                                        max_completion_length=numbers[2])
    else:
        config = TrainConfig.for_method(method, "m", "balanced", batch_size=numbers[0],
                                        max_length=numbers[1])
    estimate = estimate_memory(config, model, "cpu", prompt or None).total / MB
    assert abs(estimate / peak_mb - 1) <= 0.15, f"{method} {size}: {estimate:.0f} vs {peak_mb}"
