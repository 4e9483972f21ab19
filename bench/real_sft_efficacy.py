"""Driver: label the rule task, train on SmolLM2-135M-Instruct through the real backend, and
measure the held-out pass rate before and after (numbers for bench/results/).

    python bench/real_sft_efficacy.py METHOD [--base] [--preset=NAME] [field=value ...]

METHOD is sft, dpo or kto (the labels are the same: gold answers, thumbs, pairs against the
model's plain answer). Fields override the preset the way a user would on the Train page.
Also printed: the child's peak RSS and the memory estimate for the same config.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.evaluation.report import wilson
from studio.paths import DataPaths
from studio.training.config import TrainConfig
from studio.training.memory import estimate_memory
from studio.training.runs import create_run, launch_command
from tests.real_model import smollm2_hf
from tests.rule_task import greedy_answers, label, passes, split


def _value(text: str) -> float | int | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def main() -> None:
    method = sys.argv[1]
    flags = [a for a in sys.argv[2:] if a.startswith("--")]
    preset = next((f.split("=", 1)[1] for f in flags if f.startswith("--preset=")), "balanced")
    overrides = {k: _value(v) for k, v in (a.split("=") for a in sys.argv[2:]
                                            if not a.startswith("--"))}
    overrides.setdefault("max_length", 128)
    model = str(smollm2_hf())
    train, test = split()
    questions = [q for q, _ in test]
    if "--base" in sys.argv:
        base = sum(passes(a) for a in greedy_answers(model, None, questions))
        interval = wilson(base, len(test))
        print(f"base {base}/{len(test)} [{interval.low:.2f}, {interval.high:.2f}]", flush=True)
    root = Path(tempfile.mkdtemp(prefix="eff-"))
    paths = DataPaths.at(root / "data")
    store = Store.open(paths.db)
    label(store, train)
    snapshot = export_snapshot(store, method, root / "snap", eval_fraction=0.0)
    config = TrainConfig.for_method(method, model, preset, **overrides)
    run = create_run(store, paths, config, snapshot.path)
    start = time.monotonic()
    subprocess.run(launch_command(run.run_dir), check=True)
    took = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    model_config = json.loads((Path(model) / "config.json").read_text())
    estimate = estimate_memory(config, model_config, "cpu")
    answers = greedy_answers(model, str(run.dir.adapter), questions)
    tuned = sum(passes(a) for a in answers)
    interval = wilson(tuned, len(test))
    print(f"{method} preset {preset} overrides {overrides} lr={config.effective_learning_rate}"
          f" epochs={config.num_epochs} r={config.lora_r} batch={config.batch_size}"
          f" beta={config.beta}")
    print(f"tuned {tuned}/{len(test)} [{interval.low:.2f}, {interval.high:.2f}]"
          f" train_wall_s={took:.0f} peak_rss_mb={peak / 2**20:.0f}"
          f" estimate_mb={estimate.total / 2**20:.0f}")
    losses = [round(e["loss"], 3) for e in map(json.loads, run.dir.events.read_text()
                                               .splitlines()) if "loss" in e]
    print(f"losses {losses}")
    for a in answers[:4]:
        print("  ", repr(a))


if __name__ == "__main__":
    main()
