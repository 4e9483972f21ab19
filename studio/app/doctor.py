"""The health check behind ``tuning-studio doctor`` and the About dialog.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.system.doctor import HealthCheck, Status, format_report, run_checks

__all__ = [
    "HealthCheck",
    "Status",
    "format_report",
    "run_checks",
]
