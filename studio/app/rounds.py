"""Rounds: plan the next round (sample prompts, the model it starts from), the round board and
each round's scores.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.rounds.board import (
    COLUMNS,
    SAMPLE_PROMPTS,
    RoundPlan,
    RoundRow,
    plan_round,
    round_rows,
    sample_prompts,
)
from studio.rounds.rounds import Round
from studio.rounds.scores import round_scores

__all__ = [
    "COLUMNS",
    "SAMPLE_PROMPTS",
    "Round",
    "RoundPlan",
    "RoundRow",
    "plan_round",
    "round_rows",
    "round_scores",
    "sample_prompts",
]
