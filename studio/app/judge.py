"""An LLM judge pre-labels pairs: its config, which pairs to judge, accepting its labels, and
how well it agrees with the person. What the Judge dialog and the CLI share.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.candidates.judge import (
    DEFAULT_RUBRIC,
    JudgeConfig,
    accept_judge_labels,
    judge_agreement,
    pairs_for_prompts,
)
from studio.evaluation.graders.judge import is_machine_made

__all__ = [
    "DEFAULT_RUBRIC",
    "JudgeConfig",
    "accept_judge_labels",
    "is_machine_made",
    "judge_agreement",
    "pairs_for_prompts",
]
