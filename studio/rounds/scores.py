"""The score across rounds, as the rounds board's chart shows it: the starting model's and each
round's model's latest pass rate on one eval set.

It lives with the rounds, not in ``studio.evaluation``: rounds build on evaluation, never the
other way round (``tests/test_import_cycles.py`` checks the order between packages too)."""

from __future__ import annotations

from studio.db.store import Store
from studio.evaluation.summary import Score, latest_score
from studio.rounds.rounds import list_rounds


def round_scores(store: Store, set_name: str) -> list[tuple[str, Score | None]]:
    """The score across rounds: the first round's starting model ("base"), then each round's
    model ("round N"), with its latest score on the set (None where not evaluated yet)."""
    rounds = sorted(list_rounds(store), key=lambda r: (r.number, r.id))
    points: list[tuple[str, Score | None]] = []
    if rounds and rounds[0].parent_model_id:
        points.append(("start", latest_score(store, set_name, rounds[0].parent_model_id)))
    for found in rounds:
        if found.model_id:
            points.append((f"round {found.number}",
                           latest_score(store, set_name, found.model_id)))
    return points
