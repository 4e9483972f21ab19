"""A deliberately harmful tune of the real SmolLM2-135M-Instruct, trained through the studio's
own pipeline (snapshot -> run -> backends.train): gold answers "I don't know." to questions
about colours and sums. The regression matrix must flag it significantly worse than its parent
on a set it never trained on (capitals), and its drift score on untrained prompts must read
"changed a lot" (``studio.evaluation.drift``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rule_task import CAPITALS, THINGS

from studio.app.eval_matrix import eval_matrix, regression_warning
from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.evaluation.auto import plan, run_job, run_model
from studio.evaluation.drift import HIGH, drift_config, run_drift
from studio.evaluation.evalsets import create_eval_set
from studio.paths import DataPaths
from studio.registry.models import add_base_model
from studio.training.config import TrainConfig
from studio.training.runs import create_run, launch_command, sync_run

# About 10 min on 2 shared cores: training, two eval runs and the drift job.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def _harmful_labels(store: Store) -> None:
    questions = [f"What colour is {thing}?" for thing, _ in THINGS]
    questions += [f"What is {a} plus {b}?" for a, b in [(2, 3), (7, 5), (12, 9), (20, 22),
                                                        (8, 8), (15, 4), (31, 11), (6, 9),
                                                        (40, 2), (13, 13)]]
    for question in questions:
        store.label_gold(store.add_prompt(question, source="harm"), "I don't know.", "harm")


def test_harmful_run_is_flagged_worse_on_an_untrained_set_and_drifts(
        store: Store, data_paths: DataPaths, real_model_dir: Path, tmp_path: Path) -> None:
    capitals = tmp_path / "capitals.jsonl"
    capitals.write_text("".join(json.dumps({"question": f"What is the capital of {c}?",
                                            "answer": city}) + "\n" for c, city in CAPITALS))
    create_eval_set(store, "capitals", "mentions", from_file=capitals)
    base = add_base_model(store, real_model_dir, name="smollm2")
    _harmful_labels(store)
    snapshot = export_snapshot(store, "sft", data_paths.snapshots / "harm", eval_fraction=0)
    config = TrainConfig.for_method("sft", str(real_model_dir), "quick", num_epochs=3.0,
                                    learning_rate=2e-3, batch_size=4, max_length=64,
                                    lora_r=8, lora_alpha=16)
    run = create_run(store, data_paths, config, snapshot.path)
    subprocess.run(launch_command(run.run_dir), check=True, timeout=1800)
    assert sync_run(store, run.id).status == "completed"
    tuned = run_model(store, run.id)
    jobs = data_paths.root / "jobs"
    for job in plan(store, "capitals", tuned, max_new_tokens=16):  # parent first, then it
        run_job(store, jobs, job, lambda event: None)

    row = next(r for r in eval_matrix(store).rows if r.model.id == tuned)
    cell = row.cells["capitals"]
    assert cell.comparison is not None
    before, after = cell.comparison.before, cell.comparison.after
    said = (f"capitals: base {before.rate:.0%} [{before.low:.2f}, {before.high:.2f}] ->"
            f" harmful {after.rate:.0%} [{after.low:.2f}, {after.high:.2f}];"
            f" {cell.comparison.verdict}")
    assert cell.mark == "worse", said
    sys.stderr.write(said + "\n")  # shown with -s: the measured numbers
    assert regression_warning(store, tuned) is not None
    assert base.id == row.model.parent_id

    drift = drift_config(store, tuned)
    drift.prompt_ids = drift.prompt_ids[:12]  # general prompts, none trained on
    drift.max_new_tokens = 12
    found = run_drift(store, jobs, drift, lambda event: None)
    said = f"{found.text()} (log-likelihood drop {found.nll_drop:.3f})"
    assert found.kl > HIGH, said
    sys.stderr.write(said + "\n")
    assert found.words() == "answers on untrained topics changed a lot"
