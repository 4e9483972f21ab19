"""Training speed: the studio's default config against a plain TRL script with TRL's defaults.

    python bench/bench_train_speed.py [--model DIR] [--method sft|dpo] [--steps 8] [--json OUT]

Same model, same data, same sequence-length mix: the real-length answers of
``resources/demo_responses.jsonl`` (prompts with several real answers, best first), labeled in
the studio's store and snapshotted, not fixed-length padding. Both sides train the same LoRA
adapter (r, alpha, targets) so the ratio measures the training engine, not the adapter size;
everything else is each side's default (TRL: gradient checkpointing on; the studio: the
speed plan of ``studio.training.speed``). Each side runs in a fresh process, one after the
other, so peak memory is that process's own (CUDA max allocated, or peak RSS on CPU).
Printed per method: tokens/s, peak memory, median step time, the time from launching the
process to the end of its first step ("click to first step"), the studio/TRL ratios, and
the studio's memory estimate with its error against the measured peak.
Without ``--model`` it uses SmolLM2-135M-Instruct (converted once; see tests/real_model.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from studio.data.snapshots import export_snapshot  # noqa: E402
from studio.db.store import Store  # noqa: E402
from studio.paths import DataPaths  # noqa: E402
from studio.training.config import TrainConfig  # noqa: E402
from studio.training.memory import estimate_memory  # noqa: E402
from studio.training.runs import create_run  # noqa: E402

DATA = REPO / "resources" / "demo_responses.jsonl"


def label(store: Store) -> None:
    """Gold answers (SFT) and best-vs-worst pairs (DPO), as a person would label them: each
    row's responses are listed best first."""
    for line in DATA.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        prompt_id = store.add_prompt(row["prompt"], source="bench")
        ids = [store.add_response(prompt_id, text, origin="model") for text in row["responses"]]
        store.label_gold(prompt_id, row["responses"][0], "bench")
        store.label_pair(ids[0], ids[-1], "left", "bench")


def peak_memory() -> int:
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)


def child_studio(run_dir: str, out: str) -> None:
    """The studio side: the training backend itself, in this process."""
    from backends import train

    train.main(train.make_parser().parse_args(["--job-dir", run_dir]))
    events = [json.loads(line) for line in Path(run_dir, "events.jsonl").read_text().splitlines()]
    steps = [e for e in events if e["event"] == "step"]
    started = next(e for e in events if e["event"] == "started")
    Path(out).write_text(json.dumps({
        "step_times": [e["t"] for e in steps], "tokens": steps[-1].get("num_input_tokens_seen"),
        "peak_bytes": peak_memory(), "speed": started.get("speed")}))


def child_plain(method: str, model: str, snapshot: str, lora: dict[str, Any], steps: int,
                batch: int, max_length: int, out: str) -> None:
    """The baseline: TRL with its defaults, the same LoRA, a clock; nothing of ours."""
    import datasets
    import peft
    import torch
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            times.append(time.time())

    rows = [json.loads(line) for line in Path(snapshot, "train.jsonl").read_text().splitlines()]
    config_class, trainer_class = {"sft": (trl.SFTConfig, trl.SFTTrainer),
                                   "dpo": (trl.DPOConfig, trl.DPOTrainer)}[method]
    cpu = not torch.cuda.is_available()
    args = config_class(output_dir=str(Path(out).parent / "plain-out"), max_steps=steps,
                        per_device_train_batch_size=batch, max_length=max_length,
                        report_to="none", save_strategy="no", disable_tqdm=True,
                        use_cpu=cpu, bf16=not cpu and torch.cuda.is_bf16_supported(),
                        include_num_input_tokens_seen="non_padding")
    trainer = trainer_class(model=AutoModelForCausalLM.from_pretrained(model), args=args,
                            train_dataset=datasets.Dataset.from_list(rows),
                            processing_class=AutoTokenizer.from_pretrained(model),
                            peft_config=peft.LoraConfig(task_type="CAUSAL_LM", **lora),
                            callbacks=[Clock()])
    trainer.train()
    Path(out).write_text(json.dumps({"step_times": times,
                                     "tokens": trainer.state.num_input_tokens_seen,
                                     "peak_bytes": peak_memory()}))


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    times = result["step_times"]
    gaps = [b - a for a, b in itertools.pairwise(times[1:])]  # the first step warms up
    span = times[-1] - times[0]
    per_step_tokens = (result["tokens"] or 0) / max(len(times), 1)
    return {"step_s": round(statistics.median(gaps), 3) if gaps else None,
            "tokens_per_s": round(per_step_tokens * (len(times) - 1) / span, 1) if span else None,
            "peak_mb": round(result["peak_bytes"] / 2**20),
            # Launch to the end of step 1 (the studio's first `step` event, the plain script's
            # first on_step_end): imports, model and data loading, set-up and one step.
            "first_step_s": round(times[0] - result["launched"], 2) if times else None}


def run_child(*argv: str) -> dict[str, Any]:
    out = argv[-1]
    launched = time.time()  # the same clock as the events' `t` and the plain script's steps
    subprocess.run([sys.executable, __file__, *argv], check=True, cwd=REPO,
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=3600)
    return {**json.loads(Path(out).read_text()), "launched": launched}


def bench(method: str, model: str, steps: int, batch: int, max_length: int,
          work: Path) -> dict[str, Any]:
    paths = DataPaths.at(work / "data")
    store = Store.open(paths.db)
    label(store)
    snapshot = export_snapshot(store, method, work / f"snap-{method}", 0.0)
    config = TrainConfig.for_method(method, model, "quick", max_steps=steps, batch_size=batch,
                                    max_length=max_length, eval_steps=steps + 1,
                                    save_steps=steps + 1, logging_steps=1)
    run = create_run(store, paths, config, snapshot.path)
    store.close()
    lora = {"r": config.lora_r, "lora_alpha": config.lora_alpha,
            "lora_dropout": config.lora_dropout, "target_modules": "all-linear"}
    studio = run_child("--child-studio", str(run.run_dir), str(work / f"{method}-studio.json"))
    plain = run_child("--child-plain", method, model, str(snapshot.path), json.dumps(lora),
                      str(steps), str(batch), str(max_length), str(work / f"{method}-plain.json"))
    s, p = summarize(studio), summarize(plain)
    estimate = estimate_memory(config, json.loads(Path(model, "config.json").read_text()),
                               "cuda" if (studio.get("speed") or {}).get("precision") != "fp32"
                               else "cpu").total / 2**20
    s["memory_estimate_mb"] = round(estimate)
    s["memory_estimate_error"] = round(estimate / s["peak_mb"] - 1, 3) if s["peak_mb"] else None
    return {"studio": s, "plain_trl": p, "speed_plan": studio.get("speed"),
            "tokens_per_s_ratio": _ratio(s["tokens_per_s"], p["tokens_per_s"]),
            "peak_memory_ratio": _ratio(s["peak_mb"], p["peak_mb"]),
            "step_time_ratio": _ratio(s["step_s"], p["step_s"]),
            "first_step_ratio": _ratio(s["first_step_s"], p["first_step_s"])}


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def default_model() -> str:
    from tests.real_model import smollm2_hf

    return str(smollm2_hf())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="HF model folder (default: SmolLM2-135M)")
    parser.add_argument("--method", choices=["sft", "dpo"], default=None,
                        help="one method (default: both)")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--child-studio", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--child-plain", nargs=8, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_studio:
        child_studio(*args.child_studio)
        return
    if args.child_plain:
        m, model, snap, lora, steps, batch, length, out = args.child_plain
        child_plain(m, model, snap, json.loads(lora), int(steps), int(batch), int(length), out)
        return
    model = args.model or default_model()
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {platform.node()} ·"
          f" {platform.processor() or platform.machine()} · model {model}")
    print(f"# command: python bench/bench_train_speed.py {' '.join(sys.argv[1:])}")
    results = {}
    for method in [args.method] if args.method else ["sft", "dpo"]:
        with tempfile.TemporaryDirectory() as tmp:
            results[method] = bench(method, model, args.steps, args.batch, args.max_length,
                                    Path(tmp))
        print(method, json.dumps(results[method]))
    if "sft" in results and "dpo" in results:
        sft, dpo = results["sft"]["studio"], results["dpo"]["studio"]
        if sft["tokens_per_s"] and dpo["tokens_per_s"]:
            print(f"dpo time per token / sft time per token:"
                  f" {sft['tokens_per_s'] / dpo['tokens_per_s']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
