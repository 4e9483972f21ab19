"""The run list: list, sync and cancel training runs, and describe a run and its metrics.

The queue advances through ``studio.app.training.advance_queue`` only (not from here).

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.training.describe import describe, metrics_summary
from studio.training.runs import (
    Run,
    cancel_run,
    list_runs,
    sync_all,
    sync_run,
)

__all__ = [
    "Run",
    "cancel_run",
    "describe",
    "list_runs",
    "metrics_summary",
    "sync_all",
    "sync_run",
]
