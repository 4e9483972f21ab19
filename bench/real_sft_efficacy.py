"""Driver: label the rule task, train SFT on SmolLM2-135M-Instruct through the real backend,
and measure the held-out pass rate before and after (numbers for bench/results/)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from studio.data.snapshots import export_snapshot
from studio.labels.store import Store
from studio.paths import DataPaths
from studio.training.config import TrainConfig
from studio.training.runs import create_run, launch_command
from tests.real_model import smollm2_hf
from tests.rule_task import greedy_answers, label, passes, split, wilson


def main() -> None:
    method = sys.argv[1]
    overrides = {k: float(v) if "." in v or "e" in v else int(v)
                 for k, v in (a.split("=") for a in sys.argv[2:] if a != "--base")}
    model = str(smollm2_hf())
    train, test = split()
    questions = [q for q, _ in test]
    if "--base" in sys.argv:
        base = sum(passes(a) for a in greedy_answers(model, None, questions))
        lo, hi = wilson(base, len(test))
        print(f"base {base}/{len(test)} [{lo:.2f}, {hi:.2f}]", flush=True)
    root = Path(tempfile.mkdtemp(prefix="eff-"))
    paths = DataPaths.at(root / "data")
    store = Store.open(paths.db)
    label(store, train)
    snapshot = export_snapshot(store, method, root / "snap", eval_fraction=0.0)
    config = TrainConfig.for_method(method, model, "quick", batch_size=8, max_length=128,
                                    **overrides)
    run = create_run(store, paths, config, snapshot.path)
    start = time.monotonic()
    subprocess.run(launch_command(run.run_dir, paths.root), check=True)
    took = time.monotonic() - start
    answers = greedy_answers(model, str(run.dir.adapter), questions)
    tuned = sum(passes(a) for a in answers)
    lo, hi = wilson(tuned, len(test))
    print(f"config {overrides} lr={config.effective_learning_rate} epochs={config.num_epochs}")
    print(f"tuned {tuned}/{len(test)} [{lo:.2f}, {hi:.2f}] train_wall_s={took:.0f}")
    for a in answers[:4]:
        print("  ", repr(a))


if __name__ == "__main__":
    main()
