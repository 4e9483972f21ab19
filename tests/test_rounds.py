"""Round records and their lineage (the end-to-end loop is in test_rounds_e2e.py)."""

from __future__ import annotations

import pytest

from studio.db.store import Store
from studio.errors import NotFoundError
from studio.rounds.rounds import (
    chain,
    get_round,
    list_rounds,
    next_round,
    record_metrics,
    start_round,
    update_round,
)


def test_rounds_chain_from_the_previous_adapter(store: Store) -> None:
    first = start_round(store, "base-model", "dpo")
    with pytest.raises(NotFoundError, match="no trained model"):
        next_round(store, first.id)
    update_round(store, first.id, run_id=None, model_id="adapter-1")
    record_metrics(store, first.id, eval_reward_accuracy=0.7)
    record_metrics(store, first.id, rule_pass_rate=0.4)
    second = next_round(store, first.id)
    assert (second.number, second.parent_model_id, second.method) == (2, "adapter-1", "dpo")
    from_base = next_round(store, first.id, from_base=True, method="kto")
    assert (from_base.parent_model_id, from_base.method) == ("base-model", "kto")
    assert [r.number for r in chain(store, second.id)] == [1, 2]
    assert get_round(store, first.id).metrics == {"eval_reward_accuracy": 0.7,
                                                  "rule_pass_rate": 0.4}
    assert len(list_rounds(store)) == 3


def test_unknown_round_and_field(store: Store) -> None:
    with pytest.raises(NotFoundError):
        get_round(store, 99)
    first = start_round(store, "base")
    with pytest.raises(ValueError, match="no field"):
        update_round(store, first.id, colour="red")
