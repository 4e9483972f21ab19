"""The ``judge:MODEL_ID`` grader with the real llama.cpp on the tiny demo GGUF: the CLI prints
a machine-made score, a batch loads the judge once (one job), long texts are cut to fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.cli.main import main
from studio.db.store import Store
from studio.evaluation.graders import parse_spec
from studio.evaluation.graders.judge import JudgeGrader, is_machine_made
from studio.evaluation.graders.spec import GraderSpecError
from studio.paths import DataPaths
from studio.registry.models import ModelEntry, add_base_model, add_gguf


def register(store: Store, demo_model_dir: Path, demo_gguf: Path) -> tuple[ModelEntry,
                                                                        ModelEntry]:
    base = add_base_model(store, demo_model_dir)
    return base, add_gguf(store, demo_gguf, base.id, "F16")


def test_grade_cli_prints_judge_score_and_reason(
        store: Store, data_paths: DataPaths, demo_model_dir: Path, demo_gguf: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    base, _ = register(store, demo_model_dir, demo_gguf)
    # The base id works too: the judge finds the GGUF registered under it.
    assert main(["grade", "--grader", f"judge:{base.id}", "--response", "Four.",
                 "--prompt", "What is 2 + 2?", "--reference", "4", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert 0.0 <= shown["score"] <= 1.0
    assert shown["machine_made"] is True
    assert shown["reason"].startswith("judge ")
    assert "machine-made" in shown["reason"]
    assert main(["grade", "--grader", f"judge:{base.id}", "--response", "Four."]) == 0
    score, reason = capsys.readouterr().out.strip().split("\t")
    assert 0.0 <= float(score) <= 1.0
    assert "p(yes)=" in reason


def test_a_batch_is_one_job_and_long_texts_are_cut(
        store: Store, data_paths: DataPaths, demo_model_dir: Path, demo_gguf: Path) -> None:
    _, gguf = register(store, demo_model_dir, demo_gguf)
    grader = parse_spec(f"all:regex:.;;judge:{gguf.id}", store)
    assert is_machine_made(grader)
    judge = parse_spec(f"judge:{gguf.id}", store)
    assert isinstance(judge, JudgeGrader)
    judge.config.n_ctx = 256
    long = "Waves roll in. " * 300
    grades = judge.score_batch(["What is 2 + 2?", "Summarise the sea.", "Say hi"],
                               ["4", long, "hi"], ["4", None, None])
    assert len(grades) == 3
    assert all(0.0 <= g.score <= 1.0 for g in grades)
    assert "cut to fit the 256-token context" in grades[1].reason
    assert "cut" not in grades[0].reason
    jobs = list((data_paths.root / "jobs").iterdir())
    assert len(jobs) == 1, "the judge model must be loaded once for the whole batch"


def test_judge_spec_needs_a_registry_and_a_gguf(
        store: Store, demo_model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(GraderSpecError, match="needs the model registry"):
        parse_spec("judge:base-123")
    base = add_base_model(store, demo_model_dir)
    with pytest.raises(GraderSpecError, match="has no GGUF"):
        parse_spec(f"judge:{base.id}", store)
    assert main(["grade", "--grader", "judge:nope", "--response", "x"]) == 1
    assert "nope" in capsys.readouterr().err


def test_an_eval_run_with_a_judge_loads_it_once_in_the_eval_job(
        store: Store, data_paths: DataPaths, demo_model_dir: Path, demo_gguf: Path,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, gguf = register(store, demo_model_dir, demo_gguf)
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps({"question": f"Name a number above {i}."}) + "\n"
                            for i in range(3)))
    assert main(["evalset", "create", "judged", "--from-file", str(path), "--grader",
                 f"judge:{gguf.id}"]) == 0
    capsys.readouterr()
    assert main(["eval", "--set", "judged", "--model", gguf.id, "--max-new-tokens", "4",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["engine"] == "llama.cpp"
    assert len(report["results"]) == 3
    assert all(r["machine_made"] for r in report["results"])
    assert all("machine-made" in r["reason"] for r in report["results"])
    assert {r["grader"] for r in report["results"]} == {f"judge:{gguf.id}"}
    jobs = [p.name for p in (data_paths.root / "jobs").iterdir()]
    assert len(jobs) == 1, "the eval job judges in-process: no judge job per response"
    assert jobs[0].startswith("eval-")


def test_job_configs_have_help_on_every_field() -> None:
    from dataclasses import fields

    from studio.evaluation.graders.judge import JudgeGradeConfig
    from studio.evaluation.jobs import EvalConfig

    for cls in (EvalConfig, JudgeGradeConfig):
        assert all(f.metadata.get("help") for f in fields(cls)), cls.__name__
