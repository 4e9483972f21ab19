"""Shared builders for the export, chat and compare tests (no tests here).

The results are cached on disk under pytest's base temp folder, so every test module of one
run shares a single adapter and a single export instead of building its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from studio.jobs.launch import log_tail, run_foreground
from studio.registry.converter import prepare_converter
from studio.registry.export_config import create_export_job


def cached(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """Build ``name`` once per test session (``build`` writes into the folder it gets)."""
    folder = factory.getbasetemp() / "shared" / name
    done = folder / ".done"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        build(folder)
        done.write_text("ok")
    return folder


def make_lora_adapter(base_dir: Path, out_dir: Path, steps: int = 3) -> Path:
    """A real PEFT LoRA adapter on ``base_dir``, nudged by a few AdamW steps, saved."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base_dir),
                           LoraConfig(task_type="CAUSAL_LM", r=8, lora_alpha=16,
                                      target_modules="all-linear"))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=5e-2)
    batch = tokenizer(["The sea is blue and the sky is wide."], return_tensors="pt")
    for _ in range(steps):
        model(**batch, labels=batch["input_ids"]).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(out_dir)
    return out_dir


def run_export(out_dir: Path, **options: Any) -> list[dict]:
    """Run the export job (``export_config`` keywords) in ``out_dir`` through the launcher and
    return its events; fails the test on error."""
    prepare_converter()
    job = create_export_job(out_dir.parent, out=out_dir, **options)
    seen: list[dict] = []
    last = run_foreground("export", job, lambda event: seen.append(event.as_dict()))
    assert last is not None, log_tail(job, "export", 40)
    assert last.event == "finished", (seen[-3:], log_tail(job, "export", 40))
    return seen


def shared_adapter(factory: pytest.TempPathFactory, demo_model_dir: Path) -> Path:
    return cached(factory, "adapter", lambda d: make_lora_adapter(demo_model_dir, d))


def shared_exports(factory: pytest.TempPathFactory, demo_model_dir: Path) -> dict[str, Path]:
    """GGUFs of the demo model (base, F16) and of base + adapter (F16, Q8_0, Q4_K_M, LoRA)."""
    adapter = shared_adapter(factory, demo_model_dir)
    base = cached(factory, "base-export",
                  lambda d: run_export(d / "job", model=demo_model_dir, quants=["F16"],
                                       selfcheck_tokens=8))
    tuned = cached(factory, "tuned-export",
                   lambda d: run_export(d / "job", adapter=adapter, quants=["Q8_0", "Q4_K_M"],
                                        lora_gguf=True, selfcheck_tokens=8))
    return {"base": base / "job" / "model-F16.gguf", "tuned": tuned / "job" / "model-F16.gguf",
            "tuned_q8": tuned / "job" / "model-Q8_0.gguf",
            "tuned_q4": tuned / "job" / "model-Q4_K_M.gguf",
            "lora": tuned / "job" / "adapter-F16.gguf", "adapter": adapter}
