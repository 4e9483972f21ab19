"""Peak memory of real training runs against the estimate (``studio.training.memory``).

    python bench/bench_memory.py [--model DIR] [--steps 2] [--sizes 2x128,2x384]
        [--methods sft,dpo,kto,simpo,orpo,grpo] [--grpo-sizes 1x4x32,2x4x64] [--device cpu|cuda]
        [--json OUT] [--breakdown]

Each run is the training backend itself on a run folder, for every method, on examples long
enough to fill ``max_length`` (so the tokens per step are exactly batch x max_length, which is
what the estimate assumes). GRPO sizes are PROMPTSxGENERATIONSxCOMPLETION; its answers to
"describe the river" run to max_completion_length. On CPU each run is ``python -m
backends.train`` and its peak is the child's peak RSS from ``os.wait4``; with ``--device cuda``
each run is a child that runs the backend in-process and reports
``torch.cuda.max_memory_allocated`` (the estimate then leaves out the runtime's host memory).
The estimate is the one pre-flight makes (``studio.training.preflight.run_estimate``: for GRPO
with the snapshot's longest prompt). ``--breakdown`` also measures where one step's memory goes
(the factors the estimate is calibrated with). Without ``--model`` it uses SmolLM2-135M-Instruct
(tests/real_model.py).
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
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from studio.data.snapshots import export_snapshot  # noqa: E402
from studio.db.store import Store  # noqa: E402
from studio.paths import DataPaths  # noqa: E402
from studio.training.config import TrainConfig  # noqa: E402
from studio.training.grpo import export_prompt_snapshot  # noqa: E402
from studio.training.memory import RUNTIME_BYTES  # noqa: E402
from studio.training.preflight import run_estimate  # noqa: E402
from studio.training.runs import create_run, launch_command  # noqa: E402

MB = 2**20
FILLER = ("The river bends past the old mill, where the stones are grey and the water runs "
          "cold and clear over the weir in every season of the year. ")


def label(store: Store, count: int = 16, prompt_words: int = 0) -> None:
    """Long answers (about 900 tokens) so every example is cut at max_length; ``prompt_words``
    pads each prompt with that many words of context (GRPO keeps a prompt whole)."""
    context = " ".join((FILLER * (1 + prompt_words // 20)).split()[:prompt_words])
    for i in range(count):
        prompt_id = store.add_prompt(f"{context}\n\nDescribe the river, part {i}.".strip(),
                                     source="bench")
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


def cuda_peak_of(run_dir: Path) -> tuple[int, float]:
    """(torch.cuda.max_memory_allocated, wall seconds) of the backend run in a child."""
    out = run_dir / "cuda-peak.json"
    started = time.monotonic()
    subprocess.run([sys.executable, __file__, "--child", str(run_dir), str(out)], cwd=REPO,
                   stdin=subprocess.DEVNULL, capture_output=True, check=True)
    return int(json.loads(out.read_text())["peak_bytes"]), time.monotonic() - started


def child(run_dir: str, out: str) -> None:
    import torch

    from backends import train

    code = train.main(train.make_parser().parse_args(["--job-dir", run_dir]))
    if code:
        raise SystemExit(f"training failed ({code}); see {run_dir}/train.log")
    Path(out).write_text(json.dumps({"peak_bytes": torch.cuda.max_memory_allocated()}))


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


def configs(method: str, model: str, args: argparse.Namespace) -> list[TrainConfig]:
    """One config per size: BATCHxLENGTH, or PROMPTSxGENERATIONSxCOMPLETION for GRPO."""
    out = []
    for size in (args.grpo_sizes if method == "grpo" else args.sizes).split(","):
        numbers = [int(x) for x in size.split("x")]
        common = {"max_steps": args.steps, "eval_steps": args.steps + 1,
                  "save_steps": args.steps + 1, "device": args.device}
        if method == "grpo":
            prompts, generations, completion = numbers
            out.append(TrainConfig.for_method(
                "grpo", model, "balanced", batch_size=prompts, num_generations=generations,
                max_completion_length=completion, graders=["contains:river"], prompts="all",
                temperature=1.0, **common))
        else:
            batch, length = numbers
            out.append(TrainConfig.for_method(method, model, "balanced", batch_size=max(
                batch, 4 if method == "kto" else 1), max_length=length, **common))
    return out


def measure(store: Store, paths: DataPaths, config: TrainConfig, snapshot: Path,
            device: str) -> dict[str, object]:
    run = create_run(store, paths, config, snapshot)
    if device == "cuda":
        peak, wall = cuda_peak_of(run.run_dir)
    else:
        peak, wall = peak_of(launch_command(run.run_dir))
    # The estimate of what the backend chose: its speed plan may turn checkpointing on or off.
    started = next(e for e in run.dir.events_list() if e.event == "started")
    resolved = replace(config, precision=started.get("precision") or config.precision,
                       gradient_checkpointing=started["config"].get("gradient_checkpointing"))
    estimate = run_estimate(resolved, snapshot, device)
    # On CUDA the peak is the GPU's allocations alone: the runtime lives in host memory.
    total = estimate.total - (RUNTIME_BYTES if device == "cuda" else 0)
    size = (f"{config.batch_size}x{config.num_generations}x{config.max_completion_length}"
            if config.method == "grpo" else f"{config.batch_size}x{config.max_length}")
    return {"method": config.method, "size": size, "peak_mb": round(peak / MB),
            "estimate_mb": round(total / MB), "error": round(total / peak - 1, 3),
            "activations_mb": round(estimate.activations / MB), "wall_s": round(wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="HF model folder (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--sizes", default="2x128,2x384", help="BATCHxLENGTH, comma-separated")
    parser.add_argument("--grpo-sizes", default="1x4x32,2x4x64",
                        help="PROMPTSxGENERATIONSxCOMPLETION, comma-separated")
    parser.add_argument("--methods", default="sft,dpo,kto,simpo,orpo,grpo")
    parser.add_argument("--prompt-words", type=int, default=0,
                        help="context words before each prompt (long GRPO prompts)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--json", type=Path, help="write the rows as JSON here")
    parser.add_argument("--breakdown", action="store_true",
                        help="first measure where one step's activation memory goes")
    parser.add_argument("--breakdown-only", action="store_true",
                        help="only measure where activation memory goes (one forward)")
    parser.add_argument("--breakdown-tokens", type=int, default=512)
    parser.add_argument("--breakdown-outputs", default="log_probs,entropy,is_top1",
                        help="fused-head outputs: SFT asks for all three, DPO/KTO log_probs")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.model is None:
        from tests.real_model import smollm2_hf

        args.model = str(smollm2_hf())
    if args.breakdown or args.breakdown_only:
        outputs = tuple(args.breakdown_outputs.split(","))
        measured = breakdown(args.model, args.breakdown_tokens, outputs=outputs)
        print("breakdown", json.dumps({**measured, "outputs": outputs}), flush=True)
        if args.breakdown_only:
            return
    root = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    paths = DataPaths.at(root / "data")
    store = Store.open(paths.db)
    label(store, prompt_words=args.prompt_words)
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {platform.machine()}"
          f" · {args.device} · model {args.model} · {args.steps} steps per run")
    print(f"# command: python bench/bench_memory.py {' '.join(sys.argv[1:])}", flush=True)
    rows = []
    for method in args.methods.split(","):
        kind = {"simpo": "dpo", "orpo": "dpo"}.get(method, method)
        if method == "grpo":
            snapshot = export_prompt_snapshot(store, "all", root / "snap-grpo").path
        else:
            snapshot = export_snapshot(store, kind, root / f"snap-{method}",
                                       eval_fraction=0.0).path
        for config in configs(method, args.model, args):
            try:
                row = measure(store, paths, config, snapshot, args.device)
            except (SystemExit, subprocess.CalledProcessError) as error:
                row = {"method": method, "error_text": str(error)[:300]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
