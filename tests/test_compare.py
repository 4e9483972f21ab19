"""Compare votes as preference data, and blind win-rates with Wilson intervals."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.errors import InvalidLabelError
from studio.rounds import votes

CONVERSATION = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Name a colour."}]


def _vote(store: Store, left: str, right: str, vote: str, blind: bool = True,
          text: str = "x") -> votes.Vote:
    return votes.record_vote(
        store, [*CONVERSATION[:-1], {"role": "user", "content": f"Name a colour {text}."}],
        votes.Reply(f"{left} says red {text}", left, {"seed": 0}),
        votes.Reply(f"{right} says blue {text}", right, {"seed": 0}), vote, "ann", blind)


def test_vote_is_a_pair_label_with_models_and_sides(store: Store) -> None:
    vote = votes.record_vote(store, CONVERSATION, votes.Reply("red", "tuned", {"seed": 1}),
                               votes.Reply("blue", "base"), "b", "ann", blind=True,
                               swapped=True)
    assert vote.label.kind == "pair"
    assert vote.label.source == "compare"
    assert vote.label.chosen_rejected == (vote.right_id, vote.left_id)
    assert store.response(vote.left_id).model == "tuned"
    assert store.response(vote.left_id).gen_params == {"seed": 1}
    assert store.response(vote.right_id).model == "base"
    prompt = store.prompt(vote.prompt_id)
    assert prompt.system == "Be brief."
    assert prompt.source == "compare"
    row = next(store.db.query("SELECT * FROM compare_votes"))
    assert (row["blind"], row["swapped"]) == (1, 1)


def test_edited_winner_becomes_gold(store: Store) -> None:
    vote = votes.record_vote(store, CONVERSATION, votes.Reply("red", "tuned"),
                               votes.Reply("blue", "base"), "a", "ann", blind=False,
                               edited_winner="Red.")
    assert vote.gold is not None
    assert vote.gold.parent_id == vote.left_id
    assert store.response(vote.gold.response_id).text == "Red."  # type: ignore[arg-type]


def test_bad_votes_are_refused(store: Store) -> None:
    with pytest.raises(InvalidLabelError, match="vote is one of"):
        votes.record_vote(store, CONVERSATION, votes.Reply("a", "m"),
                            votes.Reply("b", "n"), "left", "ann", blind=True)
    with pytest.raises(InvalidLabelError, match="identical"):
        votes.record_vote(store, CONVERSATION, votes.Reply("a", "m"),
                            votes.Reply("a", "n"), "a", "ann", blind=True)
    assert store.counts()["labels"] == 0


def test_win_rates_count_blind_standing_votes_only(store: Store) -> None:
    for i in range(6):
        _vote(store, "tuned", "base", "a", text=str(i))
    _vote(store, "base", "tuned", "a", text="6")  # base shown left, base won
    _vote(store, "base", "tuned", "tie", text="7")
    _vote(store, "tuned", "base", "a", blind=False, text="8")  # not blind: not counted
    undone = _vote(store, "tuned", "base", "b", text="9")
    store.undo(undone.label.id)
    (stats,) = votes.win_rates(store)
    assert (stats.model_a, stats.model_b) == ("base", "tuned")
    assert (stats.wins_a, stats.wins_b, stats.ties) == (1, 6, 1)
    assert stats.win_rate_a == pytest.approx(1 / 7)
    low, high = stats.interval_a
    assert low < 1 / 7 < high
    assert "95% CI" in stats.describe()
    (everything,) = votes.win_rates(store, blind_only=False)
    assert everything.wins_b == 7


def test_win_rate_interval_is_the_eval_reports_wilson() -> None:
    low, high = votes.PairStats("a", "b", wins_a=8, wins_b=2).interval_a
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
    assert votes.PairStats("a", "b", ties=3).interval_a == (0.0, 1.0)
    assert votes.PairStats("a", "b", wins_b=5).interval_a[0] == 0.0


def test_votes_reach_the_dpo_export(store: Store, tmp_path: Path) -> None:
    for i in range(4):
        _vote(store, "tuned", "base", "a", text=str(i))
    snapshot = export_snapshot(store, "dpo", tmp_path / "snap", eval_fraction=0.0)
    rows = (Path(snapshot.path) / "train.jsonl").read_text().splitlines()
    assert len(rows) == 4
    assert "tuned says red" in rows[0]
