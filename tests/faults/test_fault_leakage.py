"""Family: eval leakage. A prompt of an eval set must stay out of every training snapshot,
GRPO prompt list and candidate pool, also when the training copy was typed differently
(case, spaces, line breaks, Unicode compatibility forms), however it was stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.candidates.best_of_n import candidates_by_prompt
from studio.data.importing.importer import import_path
from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.evaluation.evalsets import create_eval_set
from studio.training.grpo import select_prompts

EVAL_TEXT = "What is the capital of France?"
FILLER = [f"filler question number {i}" for i in range(8)]

VARIANTS: dict[str, str] = {
    "lower case": "what is the capital of france?",
    "upper case": "WHAT IS THE CAPITAL OF FRANCE?",
    "trailing space": "What is the capital of France? ",
    "double spaces": "What  is the  capital of France?",
    "line break and tab": "What is\nthe capital\tof France?",
    "leading newline": "\nWhat is the capital of France?",
    "full-width letters": "\uff37hat is the capital of France?",
    "non-breaking space": "What is the\u00a0capital of France?",
}


def _sft_labels(store: Store, texts: list[str]) -> None:
    for text in texts:
        prompt_id = store.add_prompt(text, tags=["train"])
        store.label_gold(prompt_id, f"the answer to: {text}", "me")


def _eval_set(store: Store, tmp_path: Path, text: str = EVAL_TEXT) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_text(json.dumps({"question": text, "answer": "Paris"}) + "\n")
    create_eval_set(store, "capitals", "contains:Paris", from_file=path)


def _trained_texts(snapshot_dir: Path) -> list[str]:
    texts = []
    for name in ("train.jsonl", "eval.jsonl"):
        for line in (snapshot_dir / name).read_text().splitlines():
            texts.append(json.loads(line)["messages"][0]["content"])
    return texts


@pytest.mark.parametrize("case", list(VARIANTS))
def test_a_retyped_eval_prompt_stays_out_of_the_sft_snapshot(store: Store, tmp_path: Path,
                                                             case: str) -> None:
    _sft_labels(store, [VARIANTS[case], *FILLER])
    _eval_set(store, tmp_path)
    snapshot = export_snapshot(store, "sft", tmp_path / "snap")
    assert VARIANTS[case] not in _trained_texts(snapshot.path)
    manifest = json.loads((snapshot.path / "manifest.json").read_text())
    assert manifest["excluded_eval_prompts"] == 1


def test_the_eval_set_made_first_still_excludes_later_training_copies(
        store: Store, tmp_path: Path) -> None:
    _eval_set(store, tmp_path)
    _sft_labels(store, [VARIANTS["lower case"], *FILLER])
    snapshot = export_snapshot(store, "sft", tmp_path / "snap")
    assert VARIANTS["lower case"] not in _trained_texts(snapshot.path)


def test_bulk_imported_training_copies_are_excluded(store: Store, tmp_path: Path) -> None:
    rows = [{"prompt": text, "completion": f"answer {i}"}
            for i, text in enumerate([VARIANTS["upper case"], *FILLER])]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    import_path(store, path)
    _eval_set(store, tmp_path)
    snapshot = export_snapshot(store, "sft", tmp_path / "snap")
    assert VARIANTS["upper case"] not in _trained_texts(snapshot.path)


def test_an_edited_prompt_that_now_matches_is_excluded(store: Store, tmp_path: Path) -> None:
    _sft_labels(store, ["something else entirely", *FILLER])
    _eval_set(store, tmp_path)
    edited = store.db.execute("SELECT id FROM prompts WHERE text = ?",
                              ["something else entirely"]).fetchone()[0]
    store.update_prompt(int(edited), text=VARIANTS["double spaces"])
    snapshot = export_snapshot(store, "sft", tmp_path / "snap")
    assert VARIANTS["double spaces"] not in _trained_texts(snapshot.path)


def test_grpo_prompts_leave_out_retyped_eval_prompts(store: Store, tmp_path: Path) -> None:
    _sft_labels(store, [VARIANTS["trailing space"], *FILLER])
    _eval_set(store, tmp_path)
    prompts, left_out = select_prompts(store, "train")
    assert VARIANTS["trailing space"] not in [p.text for p in prompts]
    assert left_out == 1


def test_candidates_leave_out_retyped_eval_prompts(store: Store, tmp_path: Path) -> None:
    prompt_id = store.add_prompt(VARIANTS["lower case"])
    store.add_response(prompt_id, "Paris", origin="model", model="m")
    _eval_set(store, tmp_path)
    assert prompt_id not in candidates_by_prompt(store)


def test_a_different_prompt_is_not_excluded(store: Store, tmp_path: Path) -> None:
    """The comparison evens out typing, not meaning: no over-exclusion."""
    other = "What is the capital of Spain?"
    _sft_labels(store, [other, *FILLER])
    _eval_set(store, tmp_path)
    snapshot = export_snapshot(store, "sft", tmp_path / "snap")
    assert other in _trained_texts(snapshot.path)


def test_a_store_from_before_the_key_is_migrated_and_filled(store: Store, tmp_path: Path
                                                            ) -> None:
    _sft_labels(store, [VARIANTS["upper case"], *FILLER])
    path = Path(store.db.execute("PRAGMA database_list").fetchone()[2])
    store.db.execute("DROP INDEX idx_prompts_norm_key")
    store.db.execute("ALTER TABLE prompts DROP COLUMN norm_key")
    store.db.execute("DELETE FROM _sqlite_migrations WHERE name = 'm008_prompt_norm_key'")
    store.db.conn.commit()
    reopened = Store.open(path)
    try:
        _eval_set(reopened, tmp_path)
        snapshot = export_snapshot(reopened, "sft", tmp_path / "snap")
        assert VARIANTS["upper case"] not in _trained_texts(snapshot.path)
    finally:
        reopened.close()
