"""The labeling queue over a real SQLite store."""

from __future__ import annotations

import random

from studio.db.store import Store
from studio.labels.agreement import mark_relabel
from studio.labels.queue import LabelQueue, QueueFilter


def _seed(store: Store) -> list[int]:
    ids = []
    for p in range(3):
        pid = store.add_prompt(f"q{p}", tags=["a" if p < 2 else "b"], source=f"s{p % 2}")
        for r in range(3):
            store.add_response(pid, f"q{p} answer {r}", origin="model")
        ids.append(pid)
    return ids


def test_thumbs_unlabeled_first_in_id_order(store: Store) -> None:
    _seed(store)
    queue = LabelQueue(store, "ana", "thumb")
    first = queue.next()
    store.label_thumb(first.responses[0].id, "up", "ana")
    second = queue.next()
    assert second.responses[0].id == first.responses[0].id + 1
    assert queue.remaining() == 8


def test_labels_of_other_annotators_do_not_hide_items(store: Store) -> None:
    _seed(store)
    store.label_thumb(1, "up", "bo")
    assert LabelQueue(store, "ana", "thumb").next().responses[0].id == 1


def test_imported_labels_count_as_labeled(store: Store) -> None:
    _seed(store)
    store.label_thumb(1, "up", "import", annotator_kind="import")
    assert LabelQueue(store, "ana", "thumb").next().responses[0].id == 2


def test_undone_label_reopens_the_item(store: Store) -> None:
    _seed(store)
    label = store.label_thumb(1, "up", "ana")
    assert LabelQueue(store, "ana", "thumb").next().responses[0].id == 2
    store.undo(label.id)
    assert LabelQueue(store, "ana", "thumb").next().responses[0].id == 1


def test_pairs_cover_every_pair_of_a_prompt_once(store: Store) -> None:
    _seed(store)
    queue = LabelQueue(store, "ana", "pair", rng=random.Random(1))
    seen = []
    while (item := queue.next()) is not None:
        seen.append(item.key)
        left, right = item.responses
        store.label_pair(left.id, right.id, "tie", "ana")
    assert len(seen) == len(set(seen)) == 9  # 3 prompts x 3 pairs
    assert queue.remaining() == 0


def test_edit_mode_is_per_prompt_and_done_once_gold_exists(store: Store) -> None:
    ids = _seed(store)
    bare = store.add_prompt("no answers yet")
    queue = LabelQueue(store, "ana", "edit")
    item = queue.next()
    assert item.prompt.id == ids[0]
    assert item.responses[0].origin == "model"
    store.label_gold(ids[0], "better", "ana", parent_id=item.responses[0].id)
    assert queue.remaining() == 3
    keys = [queue.next().prompt.id for _ in range(3)]
    assert keys == [ids[1], ids[2], bare]
    assert LabelQueue(store, "ana", "edit").item((bare,)).responses == ()


def test_filters_by_source_and_tag(store: Store) -> None:
    _seed(store)
    by_tag = LabelQueue(store, "ana", "edit", QueueFilter(tag="b"))
    assert by_tag.next().prompt.tags == ["b"]
    assert by_tag.next() is None
    by_source = LabelQueue(store, "ana", "thumb", QueueFilter(source="s1"))
    assert by_source.next().prompt.source == "s1"
    assert by_source.remaining() == 3


def test_skipped_items_wait_until_revisited(store: Store) -> None:
    _seed(store)
    queue = LabelQueue(store, "ana", "edit")
    first = queue.next()
    queue.skip(first)
    rest = [queue.next(), queue.next()]
    assert first.key not in {item.key for item in rest}
    assert queue.next() is None
    queue.revisit_skipped()
    assert queue.next().key == first.key


def test_relabel_sample_shows_earlier_labels_blind(store: Store) -> None:
    _seed(store)
    for rid in range(1, 10):
        store.label_thumb(rid, "up", "ana")
    queue = LabelQueue(store, "ana", "thumb", relabel_share=1.0, rng=random.Random(0))
    item = queue.next()
    assert item is not None
    assert item.relabel
    label = store.label_thumb(item.responses[0].id, "down", "ana", source="relabel")
    mark_relabel(store, label.id)
