"""Peak memory of real training runs against the estimate (``studio.training.memory``).

    python bench/bench_memory.py [--model DIR] [--steps 2] [--sizes 2x128,2x384] [--json OUT]

Each run is the training backend itself (``python -m backends.train`` on a run folder), for
SFT, DPO and KTO, on examples long enough to fill ``max_length`` (so the tokens per step are
exactly batch x max_length, which is what the estimate assumes). The peak RSS of each child
comes from ``os.wait4``. Two sizes per method separate the fixed part (runtime, weights) from
the part that grows with tokens (activations, logits): the fit that the estimate's factors
are calibrated against. Without ``--model`` it uses SmolLM2-135M-Instruct (tests/real_model.py).
CPU only: on CUDA the peak to compare is max_memory_allocated, not RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from studio.data.snapshots import export_snapshot  # noqa: E402
from studio.labels.store import Store  # noqa: E402
from studio.paths import DataPaths  # noqa: E402
from studio.training.config import TrainConfig  # noqa: E402
from studio.training.memory import estimate_memory  # noqa: E402
from studio.training.runs import create_run, launch_command  # noqa: E402

MB = 2**20
FILLER = ("The river bends past the old mill, where the stones are grey and the water runs "
          "cold and clear over the weir in every season of the year. ")


def label(store: Store, count: int = 16) -> None:
    """Long answers (about 900 tokens) so every example is cut at max_length."""
    for i in range(count):
        prompt_id = store.add_prompt(f"Describe the river, part {i}.", source="bench")
        good = store.label_gold(prompt_id, f"Part {i}. " + FILLER * 30, "bench")
        bad_id = store.add_response(prompt_id, f"No. Part {i}. " + FILLER[::-1] * 30,
                                    origin="model")
        store.label_pair(good.response_id or 0, bad_id, "left", "bench")
        store.label_thumb(good.response_id or 0, "up", "bench")
        store.label_thumb(bad_id, "down", "bench")


def peak_of(command: list[str]) -> tuple[int, float]:
    """(peak RSS in bytes, wall seconds) of one child process."""
    started = time.monotonic()
    child = subprocess.Popen(command, cwd=REPO, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"training failed ({child.returncode}): {command}")
    return usage.ru_maxrss * 1024, time.monotonic() - started


def breakdown(model_dir: str, tokens: int = 512, rank: int = 16,
              outputs: tuple[str, ...] = ("log_probs", "entropy", "is_top1")) -> dict[str, float]:
    """Where activation memory goes, measured on one LoRA forward + backward the way TRL 1.16
    runs it (its fused LM head, SDPA, fp32, dropout on): the bytes autograd saves inside the
    decoder layers (each storage counted once), and the peak RSS the step adds on top of the
    loaded model. Returned per token: values per layer per hidden unit, and the rest of the
    step's peak (head, loss, gradients, allocator) in fp32 copies of the logits."""
    import resource

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32),
                           LoraConfig(task_type="CAUSAL_LM", r=rank, lora_alpha=2 * rank,
                                      lora_dropout=0.05, target_modules="all-linear"))
    add_fused_lm_head(model.get_base_model(), outputs=outputs)
    model.train()
    config = model.config
    layers = model.base_model.model.model.layers
    inside = {"now": False}
    for layer in layers:
        layer.register_forward_pre_hook(lambda *_: inside.update(now=True))
        layer.register_forward_hook(lambda *_: inside.update(now=False))
    seen: set[int] = set()
    saved = {"layers": 0}
    frozen = {p.untyped_storage().data_ptr() for p in model.parameters()}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        key = tensor.untyped_storage().data_ptr()
        # Frozen weights are saved too (for the input's gradient): they are the weights' memory.
        if inside["now"] and key not in seen and key not in frozen:
            seen.add(key)
            saved["layers"] += tensor.untyped_storage().nbytes()
        return tensor

    def peak() -> int:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    with torch.no_grad():  # touch every weight first: the mmap'd file pages join the RSS
        model(input_ids=torch.zeros((1, 8), dtype=torch.long))
    before = peak()
    ids = torch.randint(0, config.vocab_size, (1, tokens))
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(input_ids=ids, labels=ids, fused_lm_head=True)
    (-out.log_probs.mean()).backward()
    step_peak = peak() - before
    logits = tokens * config.vocab_size * 4
    return {"tokens": tokens,
            "layer_values_per_hidden": round(
                saved["layers"] / (tokens * len(layers) * config.hidden_size * 4), 2),
            "layers_mb": round(saved["layers"] / MB), "step_peak_mb": round(step_peak / MB),
            "rest_in_logit_copies": round((step_peak - saved["layers"]) / logits, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="HF model folder (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--sizes", default="2x128,2x384", help="BATCHxLENGTH, comma-separated")
    parser.add_argument("--methods", default="sft,dpo,kto")
    parser.add_argument("--json", type=Path, help="write the rows as JSON here")
    parser.add_argument("--breakdown-only", action="store_true",
                        help="only measure where activation memory goes (one forward)")
    parser.add_argument("--breakdown-tokens", type=int, default=512)
    parser.add_argument("--breakdown-outputs", default="log_probs,entropy,is_top1",
                        help="fused-head outputs: SFT asks for all three, DPO/KTO log_probs")
    args = parser.parse_args()
    if args.model is None:
        from tests.real_model import smollm2_hf

        args.model = str(smollm2_hf())
    outputs = tuple(args.breakdown_outputs.split(","))
    measured = breakdown(args.model, args.breakdown_tokens, outputs=outputs)
    print("breakdown", json.dumps({**measured, "outputs": outputs}), flush=True)
    if args.breakdown_only:
        return
    model_config = json.loads((Path(args.model) / "config.json").read_text())
    root = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    paths = DataPaths.at(root / "data")
    store = Store.open(paths.db)
    label(store)
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {platform.machine()}"
          f" · model {args.model} · {args.steps} steps per run")
    rows = []
    for method in args.methods.split(","):
        snapshot = export_snapshot(store, method, root / f"snap-{method}", eval_fraction=0.0)
        for size in args.sizes.split(","):
            batch, length = (int(x) for x in size.split("x"))
            config = TrainConfig.for_method(method, args.model, "balanced", batch_size=max(
                batch, 4 if method == "kto" else 1), max_length=length, max_steps=args.steps)
            run = create_run(store, paths, config, snapshot.path)
            peak, wall = peak_of(launch_command(run.run_dir))
            estimate = estimate_memory(config, model_config, "cpu")
            row = {"method": method, "batch": config.batch_size, "max_length": length,
                   "peak_mb": round(peak / MB), "estimate_mb": round(estimate.total / MB),
                   "error": round(estimate.total / peak - 1, 3), "wall_s": round(wall, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
