"""Issue 11 item 9: readiness recommends only what the data supports well, and says why."""

from __future__ import annotations

from studio.data.snapshots import readiness
from studio.db.store import Store


def _thumbs(store: Store, up: int, down: int) -> None:
    for index in range(up + down):
        prompt = store.add_prompt(f"Question {index}")
        response = store.add_response(prompt, f"answer {index}")
        store.label_thumb(response, "up" if index < up else "down", "ana")


def test_unbalanced_thumbs_do_not_recommend_kto(store: Store) -> None:
    _thumbs(store, up=20, down=1)
    ready = readiness(store)
    assert ready.recommended != "kto"
    assert "KTO is not recommended: thumbs are 20:1 unbalanced" in ready.why


def test_balanced_thumbs_recommend_kto(store: Store) -> None:
    _thumbs(store, up=60, down=50)
    ready = readiness(store)
    assert ready.recommended == "kto"
    assert ready.why.startswith("KTO: its thumbs reach")


def test_a_dozen_thumbs_recommend_nothing_yet(store: Store) -> None:
    # Seen in a walkthrough: 12 thumbs (2% of 500) were called "best" and KTO preselected.
    _thumbs(store, up=6, down=6)
    ready = readiness(store)
    assert ready.recommended is None
    assert ready.why.startswith("Not enough yet for a run worth its time")
