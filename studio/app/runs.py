"""The run list: list, sync and cancel training runs, claim and start the next queued one, and
describe a run and its metrics.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.training.describe import describe, metrics_summary
from studio.training.runs import (
    Run,
    RunDir,
    cancel_run,
    claim_next,
    list_runs,
    start_next,
    sync_all,
    sync_run,
)

__all__ = [
    "Run",
    "RunDir",
    "cancel_run",
    "claim_next",
    "describe",
    "list_runs",
    "metrics_summary",
    "start_next",
    "sync_all",
    "sync_run",
]
