"""Rows, rows per second and time left of a running import, as one line of text: what the
CLI prints and the import dialog shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ImportRate:
    """Feed it ``(done, total)`` as batches finish; it says how fast and how long."""

    clock: Callable[[], float] = time.monotonic
    started: float = field(default=-1.0)
    done: int = 0
    total: int = 0

    def update(self, done: int, total: int) -> None:
        if self.started < 0:
            self.started = self.clock()
        self.done, self.total = done, total

    @property
    def rows_per_s(self) -> float:
        elapsed = self.clock() - self.started if self.started >= 0 else 0.0
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.rows_per_s
        return (self.total - self.done) / rate if rate > 0 else None

    def describe(self) -> str:
        eta = self.eta_s
        left = "" if eta is None else f" · {_duration(eta)} left"
        return (f"{self.done:,} / {self.total:,} rows · {self.rows_per_s:,.0f} rows/s{left}")


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
