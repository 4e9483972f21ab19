"""Build the inputs the chat and export benchmarks run on, once: the tiny demo model, a real
LoRA adapter trained on it for a few steps, and its GGUF export (F16, Q8_0, Q4_K_M).

    python bench/make_inputs.py bench/out
"""

from __future__ import annotations

import argparse
from pathlib import Path

from backends.demo_model import build_demo_model
from studio.jobs.launch import run_foreground
from studio.registry.export_config import create_export_job


def make_adapter(base: Path, out: Path) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                           LoraConfig(task_type="CAUSAL_LM", r=8, lora_alpha=16,
                                      target_modules="all-linear"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-2)
    batch = tokenizer(["The sea is blue and the sky is wide."], return_tensors="pt")
    for _ in range(3):
        model(**batch, labels=batch["input_ids"]).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path, help="folder for the inputs (reused when present)")
    out = parser.parse_args().out
    demo, adapter, export = out / "demo", out / "adapter", out / "export"
    if not (demo / "config.json").exists():
        build_demo_model(demo)
    if not (adapter / "adapter_config.json").exists():
        make_adapter(demo, adapter)
    if not (export / "model-Q4_K_M.gguf").exists():
        job = create_export_job(out, out=export, adapter=adapter, quants=["Q8_0", "Q4_K_M"])
        last = run_foreground("export", job, lambda event: None)
        if last is None or last.event != "finished":
            raise SystemExit(f"the export did not finish: {last}")
    print(f"inputs ready in {out}")


if __name__ == "__main__":
    main()
