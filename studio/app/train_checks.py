"""What the Train page's form and ``tuning-studio train`` check before a launch: preflight
checks, GRPO's prompt choices, grader help and probe, and the settings remembered from the
last run.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.training.grpo import ALL, grpo_snapshot_fields, prompt_choices
from studio.training.grpo_checks import GRPO_HELP
from studio.training.grpo_probe import PROBE_MODULE, not_probed, probe_checks
from studio.training.preflight import Check, require_ok
from studio.training.remembered import FILE_NAME, recall

__all__ = [
    "ALL",
    "FILE_NAME",
    "GRPO_HELP",
    "PROBE_MODULE",
    "Check",
    "grpo_snapshot_fields",
    "not_probed",
    "probe_checks",
    "prompt_choices",
    "recall",
    "require_ok",
]
