"""The live line under a run's progress bar: tokens/s and the ETA from its step events.

Both come from the events the training process writes (``step`` carries ``t``, ``step``,
``max_steps`` and transformers' cumulative ``num_input_tokens_seen``), so the line is the same
for a run started here, re-attached after a restart, or started from the CLI. Once the run has
ended the ETA is gone: the line says how it ended instead.
"""

from __future__ import annotations

from studio.durations import duration
from studio.events import Event

TERMINAL_WORDS = {"cancelled": "cancelled", "failed": "failed"}


class RunSpeed:
    """Step events in, one line of text out (no Qt: the page owns the label)."""

    def __init__(self) -> None:
        self.points: list[tuple[float, int, int | None]] = []  # (time, step, tokens seen)
        self.max_steps = 0
        self.reported_rate: float | None = None
        self.ended: Event | None = None

    def reset(self) -> None:
        self.points, self.max_steps, self.reported_rate, self.ended = [], 0, None, None

    def add(self, event: Event) -> None:
        if event.event == "started":
            self.points, self.ended = [], None  # a resume starts a new pace
        elif event.event == "step":
            seen = event.get("num_input_tokens_seen")
            self.points.append((event.t, int(event.get("step") or 0),
                                int(seen) if isinstance(seen, (int, float)) else None))
            self.max_steps = int(event.get("max_steps") or self.max_steps)
            rate = event.get("train_tokens_per_second")
            self.reported_rate = float(rate) if isinstance(rate, (int, float)) else None
        elif event.is_terminal:
            self.ended = event

    def tokens_per_s(self) -> float | None:
        """Tokens per second over the steps seen (from the first to the latest step event)."""
        counted = [(t, tokens) for t, _step, tokens in self.points if tokens is not None]
        if len(counted) >= 2 and counted[-1][0] > counted[0][0]:
            (t0, n0), (t1, n1) = counted[0], counted[-1]
            return (n1 - n0) / (t1 - t0)
        return self.reported_rate

    def eta_s(self) -> float | None:
        if len(self.points) < 2 or self.max_steps <= 0:
            return None
        (t0, s0, _), (t1, s1, _) = self.points[0], self.points[-1]
        if s1 <= s0 or t1 <= t0:
            return None
        return max(self.max_steps - s1, 0) * (t1 - t0) / (s1 - s0)

    def line(self) -> str:
        if self.ended is not None:
            return ending(self.ended)
        parts = []
        rate = self.tokens_per_s()
        if rate:
            parts.append(f"{rate:,.0f} tokens/s")
        eta = self.eta_s()
        if eta is not None:
            parts.append(f"ETA {duration(eta)}" if eta > 0 else "last step")
        return " · ".join(parts)


def ending(event: Event) -> str:
    """How a run ended, with its speed when it finished."""
    if event.event != "finished":
        step = event.get("step")
        word = TERMINAL_WORDS.get(event.event, event.event)
        return f"{word} at step {step}" if isinstance(step, int) else word
    rate, wall = event.get("tokens_per_s"), event.get("wall_s")
    parts = ["finished"] + ([f"{rate:,.0f} tokens/s"] if rate else []) + (
        [f"{wall:,.0f} s"] if isinstance(wall, (int, float)) else [])
    return " · ".join(parts)
