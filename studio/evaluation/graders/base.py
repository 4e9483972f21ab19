"""The grader interface and the combinators (all / any / weighted mean)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Grade:
    """A score in [0, 1] and why; ``passed`` is the score that counts for pass rates."""

    score: float
    reason: str

    @property
    def passed(self) -> bool:
        return self.score >= 0.5


class Grader:
    """One rule. Subclasses implement ``_score``; ``score`` clamps and names the rule."""

    name: str = "grader"
    spec: str | None = None  # the spec it was parsed from (set by parse_spec)

    def score(self, prompt: str, response: str, reference: str | None = None) -> Grade:
        grade = self._score(prompt, response, reference)
        return Grade(min(1.0, max(0.0, float(grade.score))), grade.reason)

    def score_batch(self, prompts: Sequence[str], responses: Sequence[str],
                    references: Sequence[str | None]) -> list[Grade]:
        """Score many at once (the shape a reward function wants)."""
        return [self.score(p, r, ref) for p, r, ref in zip(prompts, responses, references,
                                                          strict=True)]

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        raise NotImplementedError


class FunctionGrader(Grader):
    """A rule given as a function of (prompt, response, reference)."""

    def __init__(self, name: str, fn: Callable[[str, str, str | None], Grade]):
        self.name = name
        self._fn = fn

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        return self._fn(prompt, response, reference)


class AllOf(Grader):
    """Passes only when every part passes; the score is the lowest part's."""

    def __init__(self, parts: Sequence[Grader]):
        self.parts = list(parts)
        self.name = "all(" + ", ".join(p.name for p in self.parts) + ")"

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        grades = [p.score(prompt, response, reference) for p in self.parts]
        worst = min(grades, key=lambda g: g.score)
        return Grade(worst.score, worst.reason)


class AnyOf(Grader):
    """Passes when one part passes; the score is the best part's."""

    def __init__(self, parts: Sequence[Grader]):
        self.parts = list(parts)
        self.name = "any(" + ", ".join(p.name for p in self.parts) + ")"

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        grades = [p.score(prompt, response, reference) for p in self.parts]
        best = max(grades, key=lambda g: g.score)
        return Grade(best.score, best.reason)


class WeightedMean(Grader):
    """The weighted mean of the parts' scores."""

    def __init__(self, parts: Sequence[tuple[Grader, float]]):
        if not parts or sum(w for _, w in parts) <= 0:
            raise ValueError("a weighted mean needs at least one part with a positive weight")
        self.parts = list(parts)
        self.name = "mean(" + ", ".join(f"{g.name}*{w:g}" for g, w in self.parts) + ")"

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        total = sum(w for _, w in self.parts)
        grades = [(g.score(prompt, response, reference), w) for g, w in self.parts]
        value = sum(gr.score * w for gr, w in grades) / total
        return Grade(value, "; ".join(f"{gr.reason} ({gr.score:.2f})" for gr, _ in grades))


def leaves(grader: Grader) -> list[Grader]:
    """The single rules inside a grader (itself when it is not a combination)."""
    inner = getattr(grader, "inner", None)
    if isinstance(inner, Grader):  # a rule scored in a worker process: the rule it runs
        return leaves(inner)
    parts = getattr(grader, "parts", None)
    if not parts:
        return [grader]
    return [leaf for part in parts
            for leaf in leaves(part[0] if isinstance(part, tuple) else part)]


def grader_version(grader: Grader) -> str:
    """What a result was graded with: the grader's name, plus the hash of each user file it
    runs (a Python-file grader), so an edited file is told apart from the one that graded."""
    hashes = [f"{getattr(g, 'path', Path()).name}@sha256:{getattr(g, 'sha256', '')[:16]}"
              for g in leaves(grader) if isinstance(getattr(g, "sha256", None), str)]
    return grader.name + (f" [{', '.join(hashes)}]" if hashes else "")
