"""One side of bench/gpu_check.py's training comparison, in its own process: a list of runs,
each timed step by step and measured for peak memory, one after the other.

    python bench/gpu_check_child.py JOBS.json OUT.json

Each job is ``{"name", "side", "method", "model", "snapshot", "data", "steps", "overrides"}``:
``side`` "studio" runs the training backend itself (``backends.train`` on a run folder made by
``create_run``), "plain" runs TRL with TRL's defaults and nothing of ours. Both sides get the
same model, data, LoRA adapter, batch size and length, so the ratio measures the engines.
Peak memory: ``torch.cuda.max_memory_allocated`` reset before each job on CUDA; on CPU the
process's RSS high-water mark so far (the smoke run checks the path, not the figure). A job that
fails is recorded with its error and the next one runs: one broken part must not waste a GPU.
Liger kernels patch transformers' model classes for the whole process, so ``"disable":
["liger_kernel"]`` (a studio run without them) belongs in a process of its own.
"""

from __future__ import annotations

import gc
import itertools
import json
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear"}


def cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def reset_peak() -> None:
    import torch

    gc.collect()
    if cuda():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_bytes() -> int:
    import torch

    if cuda():
        return int(torch.cuda.max_memory_allocated())
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def clock() -> tuple[Any, list[tuple[float, int]]]:
    """A TrainerCallback recording (time, tokens seen) at the end of every step."""
    from transformers import TrainerCallback

    marks: list[tuple[float, int]] = []

    class Clock(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            marks.append((time.time(), int(state.num_input_tokens_seen or 0)))

    return Clock(), marks


def rates(marks: list[tuple[float, int]]) -> dict[str, Any]:
    """Tokens/s and median step time, leaving out the first step (it warms up)."""
    if len(marks) < 2:
        return {"steps": len(marks), "tokens_per_s": None, "step_s": None}
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    gaps = sorted(b[0] - a[0] for a, b in itertools.pairwise(marks))
    return {"steps": len(marks), "tokens_per_s": round((n1 - n0) / (t1 - t0), 1),
            "step_s": round(gaps[len(gaps) // 2], 4), "tokens": n1}


def studio_job(job: dict[str, Any]) -> dict[str, Any]:
    from backends import train
    from studio.db.store import Store
    from studio.paths import DataPaths
    from studio.training.config import TrainConfig
    from studio.training.runs import create_run

    callback, marks = clock()
    original = train.make_events_callback

    def with_clock(*args: Any, **kwargs: Any) -> Any:
        events = original(*args, **kwargs)
        stamp = events.on_step_end

        def on_step_end(a: Any, state: Any, control: Any, **kw: Any) -> None:
            callback.on_step_end(a, state, control, **kw)
            stamp(a, state, control, **kw)

        events.on_step_end = on_step_end
        return events

    train.make_events_callback = with_clock
    if "liger_kernel" in job.get("disable", []):
        from backends.lib import train_speed

        found = train_speed.installed()
        train_speed.installed = lambda: found - {"liger_kernel"}
    paths = DataPaths.at(Path(job["data"]))
    store = Store.open(paths.db)
    steps = job["steps"]
    config = TrainConfig.for_method(job["method"], job["model"], "balanced", max_steps=steps,
                                    eval_steps=steps + 1, save_steps=steps + 1,
                                    **job.get("overrides", {}))
    run = create_run(store, paths, config, Path(job["snapshot"]))
    store.close()
    try:
        code = train.main(train.make_parser().parse_args(["--job-dir", str(run.run_dir)]))
    finally:
        train.make_events_callback = original
    events = [json.loads(line) for line in run.run_dir.joinpath("events.jsonl").read_text()
              .splitlines()]
    if code:
        failed = next((e for e in events if e["event"] == "failed"), {})
        raise RuntimeError(f"the backend failed: {failed.get('message', code)}")
    started = next(e for e in events if e["event"] == "started")
    return {**rates(marks), "speed": started.get("speed"), "precision": started.get("precision"),
            "estimate_mb": estimate_mb(config, started, job["snapshot"]),
            "run_dir": str(run.run_dir)}


def estimate_mb(config: Any, started: dict[str, Any], snapshot: str) -> int:
    """Pre-flight's estimate with what the backend resolved (precision, checkpointing); on
    CUDA without the runtime's host memory, to compare with max_memory_allocated."""
    from dataclasses import replace

    from studio.training.memory import RUNTIME_BYTES
    from studio.training.preflight import run_estimate

    device = "cuda" if cuda() else "cpu"
    resolved = replace(config, precision=started.get("precision") or config.precision,
                       gradient_checkpointing=started["config"].get("gradient_checkpointing"))
    total = run_estimate(resolved, Path(snapshot), device).total
    return round((total - (RUNTIME_BYTES if device == "cuda" else 0)) / 2**20)


def plain_job(job: dict[str, Any]) -> dict[str, Any]:
    """TRL with its defaults, the same LoRA, batch size and length, and a clock."""
    import datasets
    import peft
    import torch
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer

    callback, marks = clock()
    rows = [json.loads(line) for line in Path(job["snapshot"], "train.jsonl").read_text()
            .splitlines()]
    method, over = job["method"], job.get("overrides", {})
    common: dict[str, Any] = {"output_dir": str(Path(job["data"]) / f"plain-{job['name']}"),
                              "max_steps": job["steps"], "report_to": "none",
                              "save_strategy": "no", "disable_tqdm": True}
    if not torch.cuda.is_available():
        common.update(use_cpu=True, bf16=False)  # TRL's defaults (bf16) need a GPU
    extra: dict[str, Any] = {}
    if method == "grpo":
        batch = over.get("batch_size", 4) * over.get("num_generations", 8)
        args = trl.GRPOConfig(**common, per_device_train_batch_size=batch,
                              num_generations=over.get("num_generations", 8),
                              max_completion_length=over.get("max_completion_length", 64))
        rows = [{"prompt": row["prompt"]} for row in rows]
        extra["reward_funcs"] = [lambda completions, **_: [float(len(str(c)) % 7) for c in
                                                            completions]]
        trainer_class: Any = trl.GRPOTrainer
    else:
        config_class, trainer_class = {"sft": (trl.SFTConfig, trl.SFTTrainer),
                                       "dpo": (trl.DPOConfig, trl.DPOTrainer)}[method]
        args = config_class(**common, per_device_train_batch_size=over.get("batch_size", 4),
                            max_length=over.get("max_length", 1024),
                            include_num_input_tokens_seen="non_padding")
    trainer = trainer_class(model=AutoModelForCausalLM.from_pretrained(job["model"]), args=args,
                            train_dataset=datasets.Dataset.from_list(rows),
                            processing_class=AutoTokenizer.from_pretrained(job["model"]),
                            peft_config=peft.LoraConfig(task_type="CAUSAL_LM", **LORA),
                            callbacks=[callback], **extra)
    trainer.train()
    return {**rates(marks), "precision": "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32",
            "gradient_checkpointing": bool(args.gradient_checkpointing)}


def main(jobs_file: str, out_file: str) -> None:
    jobs = json.loads(Path(jobs_file).read_text())
    results = []
    for job in jobs:
        reset_peak()
        started = time.monotonic()
        try:
            result = (studio_job if job["side"] == "studio" else plain_job)(job)
            result["ok"] = True
        except Exception as error:  # noqa: BLE001 (fail-soft: recorded with its traceback)
            result = {"ok": False, "error": f"{type(error).__name__}: {error}"[:600],
                      "traceback": traceback.format_exc()[-1500:]}
        result.update(name=job["name"], side=job["side"], method=job["method"],
                      peak_mb=round(peak_bytes() / 2**20), wall_s=round(time.monotonic() - started,
                                                                         1))
        results.append(result)
        # Written after every job: a process killed at the deadline still leaves its results.
        Path(out_file).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
