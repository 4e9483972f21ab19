"""Durations in words, for ETAs and plans: "45 s", "3 min 20 s", "38 h 42 min" (a clock-like
"2322:36" read as a time of day, not as 38 hours)."""

from __future__ import annotations


def duration(seconds: float) -> str:
    """A duration as people say it: "45 s", "12 min", "38 h 42 min"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 600:  # a few minutes: the seconds still matter
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
