"""The queue over generated candidates: one model's answers, adjacent pairs, judge hints."""

from __future__ import annotations

import random

import pytest

from studio.candidates.judge import pairs_for_prompts
from studio.db.store import Store
from studio.labels.queue import LabelQueue, QueueFilter, judge_suggestion, response_models


def _seed(store: Store, candidates: int = 4) -> list[int]:
    """Two prompts, each with one imported answer and ``candidates`` from model 'gen'."""
    ids = []
    for p in range(2):
        pid = store.add_prompt(f"q{p}", source="s")
        store.add_response(pid, f"imported {p}", origin="import")
        for c in range(candidates):
            store.add_response(pid, f"q{p} candidate {c}", origin="model", model="gen")
        ids.append(pid)
    store.add_response(store.add_prompt("other"), "from x", origin="model", model="x")
    return ids


def _drain(queue: LabelQueue, store: Store) -> list[tuple[int, ...]]:
    seen = []
    while (item := queue.next()) is not None:
        seen.append(item.key)
        if item.mode == "thumb":
            store.label_thumb(item.responses[0].id, "up", queue.annotator)
        elif item.mode == "pair":
            store.label_pair(item.responses[0].id, item.responses[1].id, "tie", queue.annotator)
        else:
            store.label_gold(item.prompt.id, "gold", queue.annotator)
    return seen


def test_model_filter_queues_only_that_models_responses(store: Store) -> None:
    _seed(store)
    assert response_models(store) == ["gen", "x"]
    thumbs = LabelQueue(store, "ana", "thumb", QueueFilter(model="gen"))
    assert thumbs.remaining() == 8
    keys = _drain(thumbs, store)
    assert all(store.response(k[0]).model == "gen" for k in keys)
    assert len(keys) == 8
    pairs = LabelQueue(store, "ana", "pair", QueueFilter(model="gen"), rng=random.Random(0))
    assert pairs.remaining() == 12  # 2 prompts x C(4, 2); the imported answers stay out
    edit = LabelQueue(store, "ana", "edit", QueueFilter(model="x"))
    assert [k[0] for k in _drain(edit, store)] == [3]


def test_adjacent_pairs_are_linear_and_match_the_judges_pairing(store: Store) -> None:
    prompts = _seed(store, candidates=6)
    adjacent = QueueFilter(model="gen", pairing="adjacent")
    queue = LabelQueue(store, "ana", "pair", adjacent, rng=random.Random(0))
    assert queue.remaining() == 10  # 2 prompts x (6 - 1)
    keys = _drain(queue, store)
    expected = pairs_for_prompts(store, prompts, "adjacent", model="gen")
    assert sorted(keys) == sorted(tuple(p) for p in expected)
    everything = LabelQueue(store, "bo", "pair", QueueFilter(pairing="adjacent"))
    assert everything.remaining() == 2 * 6  # the imported answer joins each prompt's chain
    with pytest.raises(ValueError, match="pairing"):
        QueueFilter(pairing="some")


def test_judge_labels_are_suggestions_not_my_labels(store: Store) -> None:
    _seed(store, candidates=2)
    store.label_thumb(2, "down", "judge:j", reason="p(yes)=0.17", source="judge",
                      annotator_kind="judge")
    store.label_pair(2, 3, "right", "judge:j", reason="p(first better)=0.20", source="judge",
                     annotator_kind="judge")
    thumbs = LabelQueue(store, "ana", "thumb", QueueFilter(model="gen"))
    item = thumbs.next()
    assert item.responses[0].id == 2  # still open for the person
    assert item.suggestion is not None
    assert (item.suggestion.value, item.suggestion.probability) == ("down", 0.17)
    assert item.suggestion.judge == "j"
    assert thumbs.next().suggestion is None  # response 3 was not judged
    swapped = judge_suggestion(store, "pair:2:3", shown_left=3)
    assert swapped is not None
    assert (swapped.value, swapped.probability) == ("left", 0.8)
    same = judge_suggestion(store, "pair:2:3", shown_left=2)
    assert same is not None
    assert same.value == "right"
