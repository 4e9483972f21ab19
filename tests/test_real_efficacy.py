"""Tuning moves the real model (SmolLM2-135M-Instruct) with the default preset, measured the
way the person will meet it: the rule task (tests/rule_task.py) labeled in a store, trained
through the run queue, exported to GGUF by the export job, answered by llama.cpp; and the
eval report (issue 13) shows the rise as significant and flags a harmful run as worse (slow:
``pytest -m slow tests/test_real_efficacy.py``).

One SFT run is shared by the module. Measured numbers: bench/results/
2026-12-03-real-efficacy-tests.txt."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from studio.cli.main import main
from studio.db.store import Store
from studio.evaluation.jobs import run_results
from studio.evaluation.report import compare
from studio.paths import DataPaths
from studio.registry.models import ModelEntry, add_adapter
from studio.training.runs import Run
from tests.real_rule_project import Project, default_config, export_q8, pass_text
from tests.rule_task import gguf_answers, label, label_rule_breaking, split

log = logging.getLogger(__name__)
# Real training on CPU: minutes on an idle 2-core machine, far longer on a shared one.
pytestmark = pytest.mark.timeout(3600)
RULE_SPEC = r"regex:^Answer:.*— Done\.$"
QUESTIONS = [q for q, _ in split()[1]]


def _project(root: Path) -> Project:
    paths = DataPaths.at(root / "data")
    return Project(paths, Store.open(paths.db))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    made = _project(tmp_path_factory.mktemp("rule-project"))
    label(made.store, split()[0])
    yield made
    made.store.close()


@pytest.fixture(scope="module")
def sft(project: Project, real_model_dir: Path) -> tuple[Run, ModelEntry]:
    """SFT with the default preset on the person's rule-following answers."""
    return project.train(default_config("sft", real_model_dir), project.snapshot("sft", "sft"))


def test_sft_default_preset_moves_the_exported_gguf(
        project: Project, sft: tuple[Run, ModelEntry], real_gguf: Path) -> None:
    run, adapter = sft
    base_passed, base_text = pass_text(gguf_answers(str(real_gguf), QUESTIONS))
    tuned_replies = gguf_answers(str(export_q8(project, adapter)), QUESTIONS)
    tuned_passed, tuned_text = pass_text(tuned_replies)
    config = run.train_config
    summary = (f"SFT preset {config.preset} (lr {config.effective_learning_rate},"
               f" {config.num_epochs} epochs, r {config.lora_r}, batch {config.batch_size},"
               f" max_length {config.max_length}, {run.metrics.get('step')} steps,"
               f" {run.metrics.get('wall_s')} s); held-out through llama.cpp: base Q4_1"
               f" {base_text}, tuned Q8_0 {tuned_text}; e.g. {tuned_replies[0]!r}")
    log.info(summary)
    assert base_passed <= 0.2 * len(QUESTIONS), summary
    assert tuned_passed >= 0.8 * len(QUESTIONS), summary


def _cli(capsys: pytest.CaptureFixture[str], project: Project, *argv: str) -> str:
    capsys.readouterr()
    assert main(["--data-dir", str(project.paths.root), *argv]) == 0
    return capsys.readouterr().out


def _eval(capsys: pytest.CaptureFixture[str], project: Project, model_id: str) -> dict[str, Any]:
    # One engine for all: the base's own GGUF would run it on llama.cpp, the unexported
    # adapters run on transformers, and a before/after compares one engine's answers.
    out = _cli(capsys, project, "eval", "--set", "rule-held-out", "--model", model_id,
               "--max-new-tokens", "32", "--engine", "transformers", "--json")
    return dict(json.loads(out))


@pytest.mark.slow  # three eval runs and a second training run: minutes more of CPU
def test_eval_report_shows_the_rise_and_flags_a_harmful_run(
        project: Project, sft: tuple[Run, ModelEntry], real_model_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _, tuned = sft
    questions = tmp_path / "held-out.jsonl"
    questions.write_text("".join(json.dumps({"question": q}) + "\n" for q in QUESTIONS))
    _cli(capsys, project, "evalset", "create", "rule-held-out", "--from-file", str(questions),
         "--grader", RULE_SPEC)
    base = _eval(capsys, project, str(tuned.parent_id))
    after = _eval(capsys, project, tuned.id)
    rise = after["comparison"]
    log.info("eval report base -> SFT: %s", {k: rise[k] for k in ("before", "after", "verdict")})
    assert base["n"] == after["n"] == len(QUESTIONS)
    assert rise["p_value"] < 0.05, rise["verdict"]
    assert rise["verdict"].startswith("significantly better"), rise["verdict"]

    # A harmful next round: the rule-following adapter trained on answers that break the rule.
    harmful = _project(tmp_path / "harmful")
    label_rule_breaking(harmful.store, split()[0])
    _, broken = harmful.train(default_config("sft", real_model_dir, init_adapter=tuned.path,
                                             max_steps=9),
                              harmful.snapshot("sft", "harmful"))
    harmful.store.close()
    entry = add_adapter(project.store, broken.path, str(tuned.parent_id), name="harmful")
    worse = compare(run_results(project.store, after["run_id"]),
                    run_results(project.store, _eval(capsys, project, entry.id)["run_id"]))
    log.info("eval report SFT -> harmful: %s", worse.verdict)
    assert worse.p_value < 0.05, worse.verdict
    assert worse.verdict.startswith("significantly worse"), worse.verdict
