"""Compare: the chat targets two models can be compared on, blind votes that become preference
pairs, and win-rates with their intervals.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.rounds.votes import PairStats, Reply, Target, compare_targets, record_vote, win_rates

__all__ = [
    "PairStats",
    "Reply",
    "Target",
    "compare_targets",
    "record_vote",
    "win_rates",
]
