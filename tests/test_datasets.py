"""Derivation rules, the grouped split, the manifest, and TRL's own format checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.data.snapshots import export_snapshot, load_manifest, readiness
from studio.db.store import Store
from studio.errors import EmptyDatasetError


def pairs_in(folder: Path, split: str = "train") -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]
    return [(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in rows]


def all_pairs(folder: Path) -> list[tuple[str, str]]:
    return sorted(pairs_in(folder, "train") + pairs_in(folder, "eval"))


@pytest.fixture
def answers(store: Store) -> dict[str, int]:
    prompt = store.add_prompt("Capital of France?", system="Be brief.")
    return {"prompt": prompt} | {
        text: store.add_response(prompt, text) for text in ("Paris", "Lyon", "Nice", "Rome")
    }


def test_thumbs_up_and_down_form_a_pair(store: Store, answers, tmp_path: Path) -> None:
    store.label_thumb(answers["Paris"], "up", "ana")
    store.label_thumb(answers["Rome"], "down", "ana")
    snapshot = export_snapshot(store, "dpo", tmp_path / "dpo", eval_fraction=0)
    assert all_pairs(snapshot.path) == [("Paris", "Rome")]


def test_gold_beats_its_original_and_is_sft(store: Store, answers, tmp_path: Path) -> None:
    store.label_gold(answers["prompt"], "Paris is the capital.", "ana", parent_id=answers["Lyon"])
    dpo = export_snapshot(store, "dpo", tmp_path / "dpo", eval_fraction=0)
    assert all_pairs(dpo.path) == [("Paris is the capital.", "Lyon")]
    sft = export_snapshot(store, "sft", tmp_path / "sft", eval_fraction=0)
    (row,) = [json.loads(line) for line in (sft.path / "train.jsonl").read_text().splitlines()]
    assert row["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris is the capital."},
    ]


def test_ties_and_both_bad_are_excluded(store: Store, answers, tmp_path: Path) -> None:
    store.label_pair(answers["Paris"], answers["Lyon"], "tie", "ana")
    store.label_pair(answers["Nice"], answers["Rome"], "both_bad", "ana")
    with pytest.raises(EmptyDatasetError):
        export_snapshot(store, "dpo", tmp_path / "dpo")


def test_sides_are_resolved_to_chosen_and_rejected(store: Store, answers, tmp_path) -> None:
    store.label_pair(answers["Lyon"], answers["Paris"], "right", "ana")
    assert all_pairs(export_snapshot(store, "dpo", tmp_path / "d", 0).path) == [("Paris", "Lyon")]


def test_majority_wins_and_even_split_is_dropped(store: Store, answers, tmp_path) -> None:
    paris, lyon = answers["Paris"], answers["Lyon"]
    store.label_pair(paris, lyon, "left", "ana")
    store.label_pair(lyon, paris, "right", "ben")  # same verdict, other side
    store.label_pair(paris, lyon, "right", "cy")
    nice, rome = answers["Nice"], answers["Rome"]
    store.label_pair(nice, rome, "left", "ana")
    store.label_pair(nice, rome, "right", "ben")
    snapshot = export_snapshot(store, "dpo", tmp_path / "d", eval_fraction=0)
    assert all_pairs(snapshot.path) == [("Paris", "Lyon")]
    assert load_manifest(snapshot.path)["conflicts_dropped"] == 1


def test_explicit_pair_overrules_derived(store: Store, answers, tmp_path: Path) -> None:
    store.label_thumb(answers["Lyon"], "up", "ana")
    store.label_thumb(answers["Paris"], "down", "ana")
    store.label_pair(answers["Paris"], answers["Lyon"], "left", "ben")
    assert all_pairs(export_snapshot(store, "dpo", tmp_path / "d", 0).path) == [("Paris", "Lyon")]


def test_undone_labels_do_not_count(store: Store, answers, tmp_path: Path) -> None:
    store.label_thumb(answers["Paris"], "up", "ana")
    label = store.label_thumb(answers["Rome"], "down", "ana")
    store.undo(label.id)
    with pytest.raises(EmptyDatasetError):
        export_snapshot(store, "dpo", tmp_path / "dpo")


def test_kto_labels_and_counts(store: Store, answers, tmp_path: Path) -> None:
    store.label_thumb(answers["Paris"], "up", "ana")
    store.label_thumb(answers["Rome"], "down", "ana")
    store.label_gold(answers["prompt"], "Paris, of course.", "ana")
    snapshot = export_snapshot(store, "kto", tmp_path / "kto", eval_fraction=0)
    assert (snapshot.counts["desirable"], snapshot.counts["undesirable"]) == (2, 1)
    ready = readiness(store)
    assert (ready.kto_up, ready.kto_down, ready.dpo, ready.sft) == (2, 1, 1, 2)


def test_split_is_grouped_by_prompt_and_deterministic(store: Store, tmp_path: Path) -> None:
    for i in range(200):
        prompt = store.add_prompt(f"Question {i}")
        good, bad = store.add_response(prompt, f"good {i}"), store.add_response(prompt, f"bad {i}")
        store.label_pair(good, bad, "left", "ana")
        store.label_thumb(good, "up", "ana")
    first = export_snapshot(store, "dpo", tmp_path / "a", eval_fraction=0.2, seed=1)
    second = export_snapshot(store, "dpo", tmp_path / "b", eval_fraction=0.2, seed=1)
    assert first.content_hash == second.content_hash
    assert first.id == second.id
    provenance = [json.loads(x) for x in (first.path / "provenance.jsonl").read_text().splitlines()]
    sides: dict[int, set[str]] = {}
    for row in provenance:
        sides.setdefault(row["prompt_id"], set()).add(row["split"])
    assert all(len(s) == 1 for s in sides.values())
    assert 20 <= first.counts["eval"] <= 60
    manifest = load_manifest(first.path)
    assert manifest["counts"] == first.counts
    assert len(manifest["label_ids"]) == 200  # the pair labels; lone thumbs-up make no pair
    assert store.db["snapshots"].count == 1  # same content, same snapshot id


def test_tiny_datasets_still_get_an_eval_split(store: Store, tmp_path: Path) -> None:
    for i in range(6):
        prompt = store.add_prompt(f"Q{i}")
        store.label_thumb(store.add_response(prompt, "yes"), "up", "ana")
    snapshot = export_snapshot(store, "sft", tmp_path / "s", eval_fraction=0.1)
    assert snapshot.counts["eval"] >= 1


@pytest.mark.parametrize("kind", ["sft", "dpo", "kto"])
def test_exports_load_with_datasets_and_pass_trl_checks(
    store: Store, tmp_path: Path, kind: str, demo_model_dir: Path
) -> None:
    import datasets
    from transformers import AutoTokenizer
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    for i in range(30):
        prompt = store.add_prompt([{"role": "user", "content": f"Count to {i}"}], system="Hi")
        good, bad = store.add_response(prompt, "1 2 3"), store.add_response(prompt, "no")
        store.label_thumb(good, "up", "ana")
        store.label_thumb(bad, "down", "ana")
    snapshot = export_snapshot(store, kind, tmp_path / kind, eval_fraction=0.2)
    loaded = datasets.load_dataset("json", data_files={
        "train": str(snapshot.path / "train.jsonl"), "eval": str(snapshot.path / "eval.jsonl")})
    assert len(loaded["train"]) == snapshot.counts["train"]
    tokenizer = AutoTokenizer.from_pretrained(demo_model_dir)
    example = loaded["train"][0]
    assert is_conversational(example)
    rendered = maybe_apply_chat_template(example, tokenizer)
    assert "<|im_start|>" in next(iter(rendered.values()))
