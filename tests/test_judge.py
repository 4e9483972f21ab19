"""Judge pre-labels with the real llama.cpp on the tiny demo GGUF."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from studio.candidates.judge import (
    JudgeConfig,
    JudgeConfigError,
    accept_judge_labels,
    candidate_pairs,
    judge_agreement,
    pairs_for_prompts,
)
from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.errors import EmptyDatasetError
from studio.events import read_events
from studio.jobs.launch import job_command
from studio.paths import DataPaths


def run_judge(folder: Path, config: JudgeConfig, db: Path) -> list:
    folder.mkdir(parents=True)
    config.db = str(db)
    config.save(folder)
    result = subprocess.run(job_command("judge", folder), capture_output=True, text=True,
                            timeout=300, check=False, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return read_events(folder / "events.jsonl")


@pytest.fixture
def answers(store: Store) -> list[int]:
    prompt = store.add_prompt("What is 2 + 2?")
    return [store.add_response(prompt, text) for text in ("4", "Four.", "5", "I don't know")]


def test_thumb_judge_labels_are_suggestions_until_accepted(
    store: Store, data_paths: DataPaths, demo_gguf: Path, answers: list[int], tmp_path: Path
) -> None:
    config = JudgeConfig(model_path=str(demo_gguf), model_name="demo", response_ids=answers,
                         n_ctx=512, threads=1)
    events = run_judge(data_paths.root / "jobs" / "j1", config, data_paths.db)
    assert events[-1].event == "finished"
    judged = store.current_labels(include_unaccepted_judge=True)
    assert len(judged) == 4
    assert {(lab.annotator, lab.annotator_kind, lab.kind) for lab in judged} == {
        ("judge:demo", "judge", "thumb")}
    assert all(lab.reason and lab.reason.startswith("p(yes)=") for lab in judged)
    assert store.current_labels() == []  # not training data yet
    with pytest.raises(EmptyDatasetError):
        export_snapshot(store, "kto", tmp_path / "none")
    assert accept_judge_labels(store, [lab.id for lab in judged]) == 4
    snapshot = export_snapshot(store, "kto", tmp_path / "kto", eval_fraction=0)
    assert snapshot.counts["train"] == 4


def test_pair_judge_asks_both_orders_and_reports_agreement(
    store: Store, data_paths: DataPaths, demo_gguf: Path, answers: list[int]
) -> None:
    pairs = candidate_pairs(answers, "adjacent")
    assert pairs == [[answers[0], answers[1]], [answers[1], answers[2]],
                     [answers[2], answers[3]]]
    config = JudgeConfig(model_path=str(demo_gguf), model_name="demo", kind="pair",
                         pairs=pairs, n_ctx=1024, threads=1, tie_margin=0.0)
    run_judge(data_paths.root / "jobs" / "j2", config, data_paths.db)
    judged = store.current_labels(kind="pair", include_unaccepted_judge=True)
    assert len(judged) == 3
    assert all(lab.reason and "p(first better)=" in lab.reason for lab in judged)
    # A person labels the first pair the same way and the second the opposite way.
    first, second = judged[0], judged[1]
    store.label_pair(first.left_id, first.right_id, first.value, "ana")
    flipped = {"left": "right", "right": "left"}[second.value]
    store.label_pair(second.left_id, second.right_id, flipped, "ana")
    (report,) = judge_agreement(store, "judge:demo")
    assert (report.kind, report.items, report.observed) == ("pair", 2, 0.5)


def test_pairing_modes(store: Store, answers: list[int]) -> None:
    assert len(candidate_pairs(answers, "all")) == 6
    assert len(pairs_for_prompts(store, [1], "adjacent")) == 3
    with pytest.raises(JudgeConfigError, match="pairing"):
        candidate_pairs(answers, "random")


def test_judge_config_errors(demo_gguf: Path) -> None:
    with pytest.raises(JudgeConfigError, match="nothing to judge"):
        JudgeConfig(model_path=str(demo_gguf), model_name="d").validate()
    with pytest.raises(JudgeConfigError, match="rubric"):
        JudgeConfig(model_path=str(demo_gguf), model_name="d", response_ids=[1],
                    rubric=" ").validate()
