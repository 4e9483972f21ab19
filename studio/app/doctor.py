"""The health check behind ``tuning-studio doctor`` and the About dialog, and the start-up
clean-up of staging folders a killed process left behind.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.system.doctor import HealthCheck, Status, format_report, run_checks
from studio.system.leftovers import remove_stale_staging

__all__ = [
    "HealthCheck",
    "Status",
    "format_report",
    "remove_stale_staging",
    "run_checks",
]
