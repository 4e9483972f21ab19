"""Iterative rounds: generate from the current model → label → train → compare, repeated.

A round records where it started (the parent model: the base or an earlier round's adapter),
the snapshot it trained on, its run, the model it produced, and its evaluation. Rounds chain
through ``parent_round_id``, so the Models page can show progress (or regress) at a glance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from studio.db.records import now_iso
from studio.db.store import Store
from studio.errors import NotFoundError
from studio.rounds.votes import win_rates

ROUND_FIELDS = ("snapshot_id", "run_id", "model_id", "method", "notes")


@dataclass(frozen=True)
class Round:
    id: int
    number: int
    parent_model_id: str | None
    method: str | None = None
    parent_round_id: int | None = None
    snapshot_id: str | None = None
    run_id: str | None = None
    model_id: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    notes: str | None = None
    created_at: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Round:
        return cls(
            id=row["id"], number=row["number"], parent_model_id=row["parent_model_id"],
            method=row["method"], parent_round_id=row["parent_round_id"],
            snapshot_id=row["snapshot_id"], run_id=row["run_id"], model_id=row["model_id"],
            metrics=json.loads(row["metrics"] or "{}"), notes=row["notes"],
            created_at=row["created_at"],
        )


def start_round(store: Store, parent_model_id: str, method: str | None = None,
                parent_round_id: int | None = None, notes: str | None = None) -> Round:
    """A new round starting from ``parent_model_id``; numbered after its parent round."""
    number = get_round(store, parent_round_id).number + 1 if parent_round_id else 1
    with store.atomic():
        cursor = store.db.execute(
            "INSERT INTO rounds (number, parent_round_id, parent_model_id, method, metrics,"
            " notes, created_at) VALUES (?, ?, ?, ?, '{}', ?, ?)",
            [number, parent_round_id, parent_model_id, method, notes, now_iso()],
        )
    return get_round(store, int(cursor.lastrowid or 0))


def next_round(store: Store, previous_id: int, from_base: bool = False,
               method: str | None = None) -> Round:
    """The "Next round" action: start from the previous round's model (or its base)."""
    previous = get_round(store, previous_id)
    if previous.model_id is None:
        raise NotFoundError(f"round {previous.number} has no trained model yet")
    parent = previous.parent_model_id if from_base else previous.model_id
    return start_round(store, parent or previous.model_id, method or previous.method,
                       parent_round_id=previous.id)


def update_round(store: Store, round_id: int, **values: Any) -> Round:
    unknown = set(values) - set(ROUND_FIELDS)
    if unknown:
        raise ValueError(f"rounds have no field(s) {sorted(unknown)}")
    get_round(store, round_id)
    assignments = ", ".join(f"{name} = ?" for name in values)
    with store.atomic():
        store.db.execute(f"UPDATE rounds SET {assignments} WHERE id = ?",
                         [*values.values(), round_id])
    return get_round(store, round_id)


def record_metrics(store: Store, round_id: int, **metrics: Any) -> Round:
    """Merge evaluation numbers into the round (reward accuracy, pass rate, win-rates...)."""
    merged = {**get_round(store, round_id).metrics, **metrics}
    with store.atomic():
        store.db.execute("UPDATE rounds SET metrics = ? WHERE id = ?",
                         [json.dumps(merged), round_id])
    return get_round(store, round_id)


def get_round(store: Store, round_id: int | None) -> Round:
    rows = list(store.db.query("SELECT * FROM rounds WHERE id = ?", [round_id]))
    if not rows:
        raise NotFoundError(f"there is no round with id {round_id}")
    return Round.from_row(rows[0])


def list_rounds(store: Store) -> list[Round]:
    return [Round.from_row(row) for row in store.db.query("SELECT * FROM rounds ORDER BY id")]


def chain(store: Store, round_id: int) -> list[Round]:
    """The round and its ancestors, first round first."""
    rounds = [get_round(store, round_id)]
    while rounds[-1].parent_round_id is not None:
        rounds.append(get_round(store, rounds[-1].parent_round_id))
    return rounds[::-1]


def blind_win_rate(store: Store, model_name: str, parent_name: str) -> dict[str, Any] | None:
    """The Compare page's blind votes of this round's model against its parent."""
    for stats in win_rates(store, blind_only=True):
        if {stats.model_a, stats.model_b} == {model_name, parent_name} and stats.decisive:
            mine_first = stats.model_a == model_name
            low, high = stats.interval_a
            rate = stats.win_rate_a or 0.0
            return {
                "win_rate": rate if mine_first else 1 - rate,
                "ci95": [low, high] if mine_first else [1 - high, 1 - low],
                "decisive_votes": stats.decisive,
            }
    return None
