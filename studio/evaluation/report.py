"""Before/after statistics: pass rate with a Wilson 95% interval, the prompts that flipped, and
an exact McNemar test on the discordant pairs that says whether a difference is real."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Interval:
    rate: float
    low: float
    high: float
    n: int


def wilson(passed: int, n: int, z: float = Z95) -> Interval:
    """The Wilson score interval: honest at small n and at rates near 0 or 1."""
    if n == 0:
        return Interval(0.0, 0.0, 1.0, 0)
    p = passed / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n)


def mcnemar_exact(better: int, worse: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant pairs at 1/2."""
    n = better + worse
    if n == 0:
        return 1.0
    k = min(better, worse)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


@dataclass
class Flip:
    key: str
    prompt: str
    before: str
    after: str
    better: bool


@dataclass
class Comparison:
    """Model A (before) against model B (after) on the same prompts."""

    before: Interval
    after: Interval
    flips: list[Flip] = field(default_factory=list)
    p_value: float = 1.0

    @property
    def verdict(self) -> str:
        better = sum(f.better for f in self.flips)
        worse = len(self.flips) - better
        if self.p_value >= 0.05:
            return f"no significant difference (p = {self.p_value:.3g}, {better} up, {worse} down)"
        word = "better" if better > worse else "worse"
        return f"significantly {word} (McNemar p = {self.p_value:.3g}, {better} up, {worse} down)"

    def as_dict(self) -> dict[str, Any]:
        return {"before": vars(self.before), "after": vars(self.after), "p_value": self.p_value,
                "verdict": self.verdict, "flips": [vars(f) for f in self.flips]}


@dataclass(frozen=True)
class Result:
    """One prompt's outcome for one model."""

    key: str
    prompt: str
    response: str
    passed: bool


def compare(before: list[Result], after: list[Result]) -> Comparison:
    """Pair results by prompt key; only prompts both models answered count."""
    after_by_key = {r.key: r for r in after}
    pairs = [(b, after_by_key[b.key]) for b in before if b.key in after_by_key]
    flips = [Flip(b.key, b.prompt, b.response, a.response, better=a.passed)
             for b, a in pairs if b.passed != a.passed]
    better = sum(f.better for f in flips)
    return Comparison(
        before=wilson(sum(b.passed for b, _ in pairs), len(pairs)),
        after=wilson(sum(a.passed for _, a in pairs), len(pairs)),
        flips=flips,
        p_value=mcnemar_exact(better, len(flips) - better),
    )
