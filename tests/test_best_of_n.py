"""Best-of-N (rejection sampling): winners by grader or by the person, as a valid snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.candidates.best_of_n import best_of_n
from studio.cli.main import main
from studio.db.store import Store
from studio.errors import EmptyDatasetError
from studio.evaluation.evalsets import create_eval_set
from studio.paths import DataPaths
from studio.training.preflight import check_dataset


def candidates(store: Store, question: str, answers: list[str], model: str = "m1") -> list[int]:
    prompt_id = store.add_prompt(question)
    return [store.add_response(prompt_id, text, origin="model", model=model,
                               source="generate") for text in answers]


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_valid(folder: Path, kind: str, size: int) -> None:
    """The trainer's own dataset checks accept it; the only complaint is its tiny size."""
    checks, train = check_dataset(kind, folder)
    assert len(train) == size
    errors = [c.message for c in checks if c.level == "error"]
    assert all("needs at least" in message for message in errors), errors


@pytest.fixture
def sums(store: Store) -> dict[str, list[int]]:
    out = {
        "two": candidates(store, "What is 1 plus 1?", ["3", "2", "eleven"]),
        "ten": candidates(store, "What is 5 plus 5?", ["10", "55", "9"]),
        "none": candidates(store, "What is 2 plus 2?", ["5", "22"]),
        "single": candidates(store, "What is 3 plus 3?", ["6"]),
    }
    for question, answer in [("What is 1 plus 1?", "2"), ("What is 5 plus 5?", "10"),
                             ("What is 2 plus 2?", "4"), ("What is 3 plus 3?", "6")]:
        store.label_gold(store.add_prompt(question), answer, "me")  # the references
    return out


def test_grader_picks_the_winners_and_drops_prompts_without_one(
        store: Store, sums: dict[str, list[int]], tmp_path: Path) -> None:
    snapshot = best_of_n(store, "numeric", tmp_path / "winners")
    train = rows(snapshot.path / "train.jsonl")
    answers = {r["messages"][-2]["content"]: r["messages"][-1]["content"] for r in train}
    assert answers == {"What is 1 plus 1?": "2", "What is 5 plus 5?": "10"}
    provenance = rows(snapshot.path / "provenance.jsonl")
    assert {p["judged_by"] for p in provenance} == {"grader"}
    first = next(p for p in provenance if p["response_ids"] == [sums["two"][1]])
    assert first["scores"] == {str(rid): s for rid, s in zip(sums["two"], [0.0, 1.0, 0.0],
                                                               strict=True)}
    manifest = json.loads((snapshot.path / "manifest.json").read_text())
    assert manifest["kind"] == "sft"
    assert manifest["dropped_no_passing_candidate"] == 1  # 2 plus 2: no candidate passed
    assert manifest["prompts_with_candidates"] == 3  # 3 plus 3 has a single candidate
    assert_valid(snapshot.path, "sft", 2)


def test_a_committee_of_models_competes_per_prompt(
        store: Store, sums: dict[str, list[int]], tmp_path: Path) -> None:
    # A second model answers the prompt that none of m1's candidates got right.
    prompt_id = store.responses_by_id([sums["none"][0]])[sums["none"][0]].prompt_id
    store.add_response(prompt_id, "It is 4.", origin="model", model="m2", source="generate")
    alone = best_of_n(store, "numeric", tmp_path / "m1", models=["m1"])
    committee = best_of_n(store, "numeric", tmp_path / "both", models=["m1", "m2"])
    assert (alone.counts["train"], committee.counts["train"]) == (2, 3)
    won = {json.loads(line)["messages"][-1]["content"]
           for line in (committee.path / "train.jsonl").read_text().splitlines()}
    assert "It is 4." in won
    assert json.loads((committee.path / "manifest.json").read_text())["models"] == ["m1", "m2"]


def test_person_choices_beat_the_grader_and_pairs_are_marked(
        store: Store, sums: dict[str, list[int]], tmp_path: Path) -> None:
    three, two, eleven = sums["two"]
    store.label_pair(eleven, two, "left", "me")  # the person prefers "eleven"
    snapshot = best_of_n(store, "numeric", tmp_path / "w", pairs=True)
    provenance = {p["prompt_id"]: p for p in rows(snapshot.path / "provenance.jsonl")}
    chosen = {p["response_ids"][0]: p["judged_by"] for p in provenance.values()}
    assert chosen[eleven] == "person"
    pairs = rows(snapshot.path / "pairs" / "train.jsonl")
    assert {(p["chosen"][0]["content"], p["rejected"][0]["content"]) for p in pairs} == {
        ("eleven", "2"), ("10", "9")}
    pair_provenance = rows(snapshot.path / "pairs" / "provenance.jsonl")
    assert sorted(p["machine_judged"] for p in pair_provenance) == [False, True]
    assert_valid(snapshot.path / "pairs", "dpo", 2)
    del three


def test_eval_prompts_stay_out_and_an_empty_result_says_why(store: Store,
                                                            tmp_path: Path) -> None:
    candidates(store, "What is 7 plus 1?", ["8", "9"])
    source = tmp_path / "eval.jsonl"
    source.write_text(json.dumps({"question": "What is 7 plus 1?", "answer": "8"}) + "\n")
    create_eval_set(store, "sums", "numeric", from_file=source)
    with pytest.raises(EmptyDatasetError, match="generate more candidates"):
        best_of_n(store, "contains:8", tmp_path / "none")


def test_cli_writes_the_snapshot(store: Store, data_paths: DataPaths, sums: dict[str, list[int]],
                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store.close()
    code = main(["--data-dir", str(data_paths.root), "best-of-n", "--grader", "numeric",
                 "--out", str(tmp_path / "cli"), "--pairs", "--model", "m1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2 train" in out
    assert "machine-judged" in out
    assert (tmp_path / "cli" / "pairs" / "manifest.json").is_file()
