"""The result of a pre-flight check: what the memory estimate and the run checks report.

Kept apart from :mod:`studio.training.preflight` so the memory estimate can return checks
without importing the module that calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.errors import StudioError


@dataclass(frozen=True)
class Check:
    level: str  # error | warning | info
    topic: str  # config | model | dataset | length | memory
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


class PreflightError(StudioError):
    """A run that would fail; ``checks`` holds every problem found."""

    def __init__(self, checks: list[Check]):
        self.checks = checks
        errors = [c.message for c in checks if c.level == "error"]
        super().__init__("; ".join(errors))
