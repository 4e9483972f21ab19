"""Training benchmarks: studio run vs. a plain TRL script, and click-to-first-step time.

    .venv/bin/python bench/bench_train.py [--steps 40] [--methods sft,dpo] [--json OUT]

For each method, the same tiny demo model, the same synthetic labels (through the studio's own
store → snapshot pipeline) and the same hyperparameters are trained twice in fresh processes:
once as a studio run (``backends.train`` via the run registry, detached, events.jsonl) and once
by a plain TRL script with no studio code in the loop. Per-step time is the median gap between
consecutive optimizer steps (steps next to an eval or checkpoint are left out of both).
Click-to-first-step is the wall time from ``start_next`` (what the Launch button calls) to the
first ``step`` event; most of it is importing torch/transformers/TRL.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from backends.lib.train_synthetic import populate, synthetic_run  # noqa: E402
from studio.db.store import Store  # noqa: E402
from studio.events import read_events  # noqa: E402
from studio.paths import DataPaths  # noqa: E402
from studio.training.runs import start_next, sync_run  # noqa: E402


def plain_trl(method: str, model: str, snapshot: str, steps: int, out: str) -> None:
    """The baseline: TRL as its docs show it, a timing callback, nothing else of ours."""
    import datasets
    import peft
    import trl
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            times.append(time.perf_counter())

    rows = [json.loads(line) for line in Path(snapshot, "train.jsonl").read_text().splitlines()]
    config_class, trainer_class = {"sft": (trl.SFTConfig, trl.SFTTrainer),
                                   "dpo": (trl.DPOConfig, trl.DPOTrainer),
                                   "kto": (trl.KTOConfig, trl.KTOTrainer)}[method]
    # The studio run's resolved settings, so the ratio measures the studio's overhead only.
    extra = {"assistant_only_loss": True} if method == "sft" else {}
    args = config_class(output_dir=out, max_steps=steps, per_device_train_batch_size=4,
                        learning_rate=2e-4, max_length=64, logging_steps=1, report_to="none",
                        save_strategy="no", use_cpu=True, bf16=False, disable_tqdm=True,
                        activation_checkpointing=False, warmup_steps=0.05, **extra)
    trainer = trainer_class(
        model=AutoModelForCausalLM.from_pretrained(model), args=args,
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=AutoTokenizer.from_pretrained(model),
        peft_config=peft.LoraConfig(task_type="CAUSAL_LM", r=8, lora_alpha=16,
                                    lora_dropout=0.05, target_modules="all-linear"),
        callbacks=[Clock()])
    trainer.train()
    Path(out, "times.json").write_text(json.dumps(times))


def median_gap(times: list[float], skip: set[int] | None = None) -> float:
    gaps = [b - a for i, (a, b) in enumerate(itertools.pairwise(times), start=2)
            if i > 2 and not (skip and (i in skip or i - 1 in skip))]
    return statistics.median(gaps)


def studio_run(store: Store, paths: DataPaths, method: str, model: str,
               steps: int) -> dict[str, float]:
    run = synthetic_run(store, paths, method, model, max_steps=steps, eval_steps=steps,
                        save_steps=steps, learning_rate=2e-4)
    clicked = time.time()
    start_next(store, paths)
    while sync_run(store, run.id).status == "running":
        time.sleep(0.2)
    events = read_events(run.dir.events)
    step_events = [e for e in events if e.event == "step"]
    busy = {e["step"] for e in events if e.event in {"eval", "checkpoint"}}
    started = next(e for e in events if e.event == "started")
    return {"step_s": median_gap([e.t for e in step_events], busy),
            "click_to_started_s": started.t - clicked,
            "click_to_first_step_s": step_events[0].t - clicked,
            "snapshot": str(run.dir.snapshot)}


def plain_run(method: str, model: str, snapshot: str, steps: int, work: Path) -> float:
    out = work / f"plain-{method}"
    subprocess.run([sys.executable, __file__, "--plain", method, model, snapshot, str(steps),
                    str(out)], check=True, cwd=REPO, capture_output=True)
    return median_gap(json.loads((out / "times.json").read_text()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--methods", default="sft,dpo,kto")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--plain", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        method, model, snapshot, steps, out = args.plain
        plain_trl(method, model, snapshot, int(steps), out)
        return
    from backends.demo_model import build_demo_model

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        model = str(build_demo_model(work / "model"))
        paths = DataPaths.at(work / "data")
        store = Store.open(paths.db)
        populate(store, 48)
        results = {}
        for method in args.methods.split(","):
            studio = studio_run(store, paths, method, model, args.steps)
            plain = plain_run(method, model, studio.pop("snapshot"), args.steps, work)
            results[method] = {**{k: round(v, 4) for k, v in studio.items()},
                               "plain_step_s": round(plain, 4),
                               "ratio": round(studio["step_s"] / plain, 3)}
            print(method, json.dumps(results[method]))
        store.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
