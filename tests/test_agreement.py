"""Cohen's kappa between annotators and self-agreement on blind re-labels."""

from __future__ import annotations

import pytest

from studio.db.store import Store
from studio.labels.agreement import between_annotators, cohen_kappa, mark_relabel, self_agreement


def test_kappa_known_values() -> None:
    assert cohen_kappa(["up", "down"] * 5, ["up", "down"] * 5) == pytest.approx(1.0)
    # 20 items: 15 agree; marginals 50/50 and 50/50 -> pe = 0.5, po = 0.75 -> kappa 0.5
    first = ["up"] * 10 + ["down"] * 10
    second = ["up"] * 8 + ["down"] * 2 + ["down"] * 7 + ["up"] * 3
    assert cohen_kappa(first, second) == pytest.approx(0.5)
    assert cohen_kappa(["up"] * 3, ["up"] * 3) is None  # chance agreement is total
    assert cohen_kappa([], []) is None


def _responses(store: Store, n: int) -> list[int]:
    pid = store.add_prompt("p")
    return [store.add_response(pid, f"r{i}", origin="model") for i in range(n)]


def test_between_annotators_compares_pairs_by_winner_not_side(store: Store) -> None:
    a, b, c = _responses(store, 3)
    store.label_pair(a, b, "left", "ana")  # a wins
    store.label_pair(b, a, "right", "bo")  # shown swapped: a wins again
    store.label_pair(a, c, "left", "ana")
    store.label_pair(a, c, "right", "bo")  # disagree
    store.label_thumb(a, "up", "ana")
    store.label_thumb(a, "up", "bo")
    store.label_thumb(b, "down", "ana")
    store.label_thumb(b, "up", "bo")
    report = {r.kind: r for r in between_annotators(store)}
    assert report["pair"].items == 2
    assert report["pair"].observed == 0.5
    assert report["thumb"].items == 2
    assert report["thumb"].observed == 0.5
    assert (report["thumb"].first, report["thumb"].second) == ("ana", "bo")


def test_self_agreement_uses_relabels_and_ignores_undone_ones(store: Store) -> None:
    a, b, c = _responses(store, 3)
    for rid, first, again in ((a, "up", "up"), (b, "down", "up"), (c, "up", "down")):
        store.label_thumb(rid, first, "ana")
        mark_relabel(store, store.label_thumb(rid, again, "ana", source="relabel").id)
    undone = store.label_thumb(c, "down", "ana", source="relabel")
    mark_relabel(store, undone.id)
    store.undo(undone.id)
    [row] = self_agreement(store)
    assert (row.kind, row.first, row.items) == ("thumb", "ana", 2)
    assert row.observed == 0.5
