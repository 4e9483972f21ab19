"""SimPO and ORPO on the real SmolLM2-135M-Instruct: trained with their defaults on the rule
task's pairs (the rule answer against the plain answer the model gives by itself), the tuned
model prefers the rule answer on held-out prompts it never saw (held-out reward accuracy well
above 0.5), and the exported Q8_0 GGUF follows the rule on held-out prompts through llama.cpp.

Slow (minutes of CPU per method): ``pytest -m slow`` on this file.
Recorded: bench/results/2026-12-03-real-simpo-orpo-efficacy.txt."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from studio.db.store import Store
from studio.paths import DataPaths
from tests.real_rule_project import Project, default_config, export_q8, pass_text
from tests.rule_task import gguf_answers, label, preference_accuracy, split

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]


@pytest.fixture(scope="module")
def base_accuracy(real_model_dir: Path) -> float:
    return preference_accuracy(str(real_model_dir), None, split()[1])


@pytest.mark.parametrize("method", ["simpo", "orpo"])
def test_reference_free_training_prefers_the_rule_on_held_out_prompts(
        method: str, real_model_dir: Path, base_accuracy: float, tmp_path: Path) -> None:
    train, held_out = split()
    paths = DataPaths.at(tmp_path / "data")
    project = Project(paths, Store.open(paths.db))
    try:
        label(project.store, train)
        started = time.monotonic()
        run, adapter = project.train(default_config(method, real_model_dir),
                                     project.snapshot("dpo", method))
        replies = gguf_answers(str(export_q8(project, adapter)), [q for q, _ in held_out])
    finally:
        project.store.close()
    accuracy = preference_accuracy(str(real_model_dir), adapter.path, held_out)
    config = run.train_config
    summary = (f"{method.upper()} preset {config.preset}: lr {config.effective_learning_rate},"
               f" beta {config.effective_beta}, {run.metrics.get('step')} steps, train"
               f" {run.metrics.get('wall_s')} s, all {time.monotonic() - started:.0f} s;"
               f" held-out reward accuracy base {base_accuracy:.2f} -> tuned {accuracy:.2f}"
               f" (n = {len(held_out)}); held-out pass rate through the Q8_0 GGUF"
               f" {pass_text(replies)[1]};"
               f" e.g. {replies[0]!r}")
    log.info(summary)
    assert accuracy >= 0.8, summary
    assert accuracy > base_accuracy, summary
    assert pass_text(replies)[0] >= 0.8 * len(held_out), summary
