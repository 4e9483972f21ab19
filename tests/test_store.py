"""The label store: append-only labels, undo/redo, durability, validation."""

from __future__ import annotations

import sqlite3

import pytest

from studio.db.store import Store
from studio.errors import InvalidLabelError, NotFoundError
from studio.paths import DataPaths


@pytest.fixture
def prompt_with_two(store: Store) -> tuple[int, int, int]:
    prompt = store.add_prompt("Name a prime number.", tags=["math"])
    return prompt, store.add_response(prompt, "7"), store.add_response(prompt, "8")


def test_same_prompt_and_response_are_stored_once(store: Store) -> None:
    first = store.add_prompt("Hello")
    assert store.add_prompt("Hello") == first
    assert store.add_prompt("Hello", system="Be brief.") != first
    response = store.add_response(first, "Hi!")
    assert store.add_response(first, "Hi!") == response
    assert store.counts() == {"prompts": 2, "responses": 1, "labels": 0}


def test_multi_turn_prompt_keeps_roles(store: Store) -> None:
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello, how can I help?"},
        {"role": "user", "content": "Tell me a joke"},
    ]
    prompt = store.prompt(store.add_prompt(messages, system="Be funny."))
    assert prompt.text == "Tell me a joke"
    assert prompt.conversation()[0] == {"role": "system", "content": "Be funny."}
    assert prompt.messages == messages


def test_thumb_undo_redo_are_new_events(store: Store, prompt_with_two) -> None:
    _, good, _ = prompt_with_two
    label = store.label_thumb(good, "up", "ana")
    assert [lab.value for lab in store.current_labels()] == ["up"]
    store.undo(label.id)
    assert store.current_labels() == []
    store.redo(label.id)
    assert [lab.value for lab in store.current_labels()] == ["up"]
    assert [lab.value for lab in store.history(label.target)] == ["up", "retracted", "up"]


def test_undo_restores_the_previous_value(store: Store, prompt_with_two) -> None:
    _, good, _ = prompt_with_two
    store.label_thumb(good, "up", "ana")
    changed = store.label_thumb(good, "down", "ana")
    store.undo(changed.id)
    assert [lab.value for lab in store.current_labels()] == ["up"]


def test_latest_label_per_annotator_counts(store: Store, prompt_with_two) -> None:
    _, good, _ = prompt_with_two
    store.label_thumb(good, "down", "ana")
    store.label_thumb(good, "up", "ana")
    store.label_thumb(good, "down", "ben")
    current = {(lab.annotator, lab.value) for lab in store.current_labels()}
    assert current == {("ana", "up"), ("ben", "down")}


def test_pair_records_sides_and_shares_target(store: Store, prompt_with_two) -> None:
    _, seven, eight = prompt_with_two
    first = store.label_pair(eight, seven, "right", "ana")
    assert (first.left_id, first.right_id) == (eight, seven)
    assert first.chosen_rejected == (seven, eight)
    second = store.label_pair(seven, eight, "tie", "ana")
    assert second.target == first.target
    assert [lab.value for lab in store.current_labels()] == ["tie"]


def test_gold_links_to_the_original(store: Store, prompt_with_two) -> None:
    prompt, _, eight = prompt_with_two
    gold = store.label_gold(prompt, "7 is prime.", "ana", parent_id=eight)
    response = store.response(gold.response_id)
    assert response.parent_id == eight
    assert response.origin == "human"
    assert gold.parent_id == eight


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s, r: s.label_thumb(r[1], "meh", "ana"), "up' or 'down"),
        (lambda s, r: s.label_pair(r[1], r[1], "left", "ana"), "two different"),
        (lambda s, r: s.label_pair(r[1], r[2], "middle", "ana"), "pair label"),
        (lambda s, r: s.label_thumb(r[1], "up", ""), "annotator"),
        (lambda s, r: s.label_gold(r[0], "   ", "ana"), "empty"),
    ],
)
def test_invalid_labels_are_refused(store: Store, prompt_with_two, call, message) -> None:
    with pytest.raises(InvalidLabelError, match=message):
        call(store, prompt_with_two)
    assert store.counts()["labels"] == 0


def test_unknown_ids_raise_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no response with id 42"):
        store.label_thumb(42, "up", "ana")


def test_pair_across_prompts_is_refused(store: Store, prompt_with_two) -> None:
    other = store.add_response(store.add_prompt("Other"), "x")
    with pytest.raises(InvalidLabelError, match="same prompt"):
        store.label_pair(prompt_with_two[1], other, "left", "ana")


def test_label_is_committed_before_the_call_returns(data_paths: DataPaths,
                                                    prompt_with_two, store: Store) -> None:
    store.label_thumb(prompt_with_two[1], "up", "ana")
    # A second connection (another process would do the same) sees it at once.
    other = sqlite3.connect(data_paths.db)
    assert other.execute("SELECT value FROM labels").fetchall() == [("up",)]
    other.close()


def test_reopening_applies_no_migration_twice(data_paths: DataPaths) -> None:
    Store.open(data_paths.db).close()
    again = Store.open(data_paths.db)
    applied = [row["name"] for row in again.db.query("SELECT name FROM _sqlite_migrations")]
    assert applied == sorted(set(applied))
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.close()


def test_update_and_delete_prompt(store: Store, prompt_with_two) -> None:
    prompt, seven, eight = prompt_with_two
    store.label_pair(seven, eight, "left", "ana")
    store.label_gold(prompt, "Seven.", "ana", parent_id=seven)
    updated = store.update_prompt(prompt, tags=["math", "easy"], text="Name a small prime.")
    assert updated.tags == ["math", "easy"]
    assert updated.text == "Name a small prime."
    store.delete_prompt(prompt)
    assert store.counts() == {"prompts": 0, "responses": 0, "labels": 0}
