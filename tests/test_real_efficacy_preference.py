"""DPO and KTO move the real model's behaviour, not only its reward accuracy: the rule task's
pairs (chosen = the rule answer, rejected = the plain answer the model gives by itself) and
thumbs, trained with the method's defaults, raise the held-out pass rate through the exported
GGUF significantly (McNemar against the base on the same prompts).

Slow (each run trains for minutes on CPU): ``pytest -m slow`` on this file.
Recorded: bench/results/2026-12-03-real-dpo-kto-efficacy.txt."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from studio.db.store import Store
from studio.evaluation.report import Result, compare
from studio.paths import DataPaths
from studio.training.config import DEFAULT_LEARNING_RATE
from tests.real_rule_project import Project, default_config, export_q8, pass_text
from tests.rule_task import gguf_answers, label, passes, split

log = logging.getLogger(__name__)
# Real training on CPU: minutes on an idle 2-core machine, far longer on a shared one.
pytestmark = pytest.mark.timeout(3600)
QUESTIONS = [q for q, _ in split()[1]]


def _results(replies: list[str]) -> list[Result]:
    pairs = enumerate(zip(QUESTIONS, replies, strict=True))
    return [Result(str(i), q, r, passes(r)) for i, (q, r) in pairs]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["dpo", "kto"])
def test_preference_training_moves_the_held_out_behaviour(
        method: str, real_model_dir: Path, real_gguf: Path, tmp_path: Path) -> None:
    paths = DataPaths.at(tmp_path / "data")
    project = Project(paths, Store.open(paths.db))
    try:
        label(project.store, split()[0])
        started = time.monotonic()
        run, adapter = project.train(default_config(method, real_model_dir),
                                     project.snapshot(method, method))
        base = gguf_answers(str(real_gguf), QUESTIONS)
        tuned = gguf_answers(str(export_q8(project, adapter)), QUESTIONS)
    finally:
        project.store.close()
    report = compare(_results(base), _results(tuned))
    config = run.train_config
    summary = (f"{method.upper()} preset {config.preset}: lr"
               f" {DEFAULT_LEARNING_RATE[(method, 'lora')]}, beta {config.effective_beta},"
               f" {config.num_epochs} epochs, r {config.lora_r}, batch {config.batch_size},"
               f" {run.metrics.get('step')} steps, train {run.metrics.get('wall_s')} s,"
               f" all {time.monotonic() - started:.0f} s; held-out through llama.cpp: base Q4_1"
               f" {pass_text(base)[1]}, tuned Q8_0 {pass_text(tuned)[1]}; {report.verdict};"
               f" e.g. {tuned[0]!r}")
    log.info(summary)
    assert report.after.rate >= 0.5, summary
    assert report.p_value < 0.05, summary
    assert report.verdict.startswith("significantly better"), summary
