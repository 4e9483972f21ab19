"""Fast defaults per device: each decision of the speed plan, without a GPU."""

from __future__ import annotations

from studio.training.speed import Device, choose

GB = 1024**3
H200 = Device("cuda", bf16=True, free_bytes=140 * GB, cores=16)
T4 = Device("cuda", bf16=False, free_bytes=15 * GB, cores=4)
LAPTOP = Device("cpu", free_bytes=16 * GB, cores=8)
EVERYTHING = frozenset({"liger_kernel", "flash_attn", "bitsandbytes"})


def test_cuda_with_every_package_turns_everything_on() -> None:
    plan = choose(H200, "sft", "lora", 4 * GB, 2 * GB, EVERYTHING)
    assert plan.precision == "bf16"
    assert plan.liger
    assert plan.padding_free
    assert plan.attention == "flash_attention_2"
    assert not plan.gradient_checkpointing
    assert not plan.qlora
    assert plan.threads is None


def test_cuda_without_optional_packages_falls_back_and_says_why() -> None:
    plan = choose(T4, "sft", "lora", 4 * GB, 2 * GB, frozenset())
    assert plan.precision == "fp16"
    assert not plan.liger
    assert not plan.padding_free
    assert plan.attention == "sdpa"
    assert any("need FlashAttention" in r for r in plan.reasons)
    assert any("liger-kernel" in r for r in plan.reasons)


def test_preference_methods_precompute_reference_log_probs_on_cuda_with_lora() -> None:
    assert choose(H200, "dpo", "lora", GB, GB, EVERYTHING).precompute_ref_log_probs
    assert choose(H200, "kto", "lora", GB, GB, EVERYTHING).precompute_ref_log_probs
    assert not choose(H200, "dpo", "full", GB, GB, EVERYTHING).precompute_ref_log_probs
    assert not choose(LAPTOP, "dpo", "lora", GB, GB, EVERYTHING).precompute_ref_log_probs
    assert not choose(H200, "dpo", "lora", GB, GB, EVERYTHING).padding_free


def test_checkpointing_only_when_memory_needs_it() -> None:
    assert not choose(LAPTOP, "sft", "lora", 8 * GB, 4 * GB, frozenset()).gradient_checkpointing
    tight = choose(LAPTOP, "sft", "lora", 15 * GB, 8 * GB, frozenset())
    assert tight.gradient_checkpointing
    assert not tight.qlora
    assert any("memory needs it" in r for r in tight.reasons)


def test_qlora_when_the_model_would_not_fit_otherwise() -> None:
    plan = choose(T4, "sft", "lora", 40 * GB, 4 * GB, EVERYTHING)
    assert plan.qlora
    assert plan.gradient_checkpointing
    assert not choose(T4, "sft", "lora", 40 * GB, 4 * GB, frozenset()).qlora


def test_cpu_runs_fp32_on_every_core_and_honours_explicit_settings() -> None:
    plan = choose(LAPTOP, "sft", "lora", GB, GB, EVERYTHING)
    assert plan.precision == "fp32"
    assert plan.threads == 8
    assert not plan.liger
    assert not plan.padding_free
    forced = choose(LAPTOP, "sft", "lora", GB, GB, frozenset(), checkpointing=True)
    assert forced.gradient_checkpointing
    assert any("as configured" in r for r in forced.reasons)
