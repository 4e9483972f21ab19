"""Numeric equivalence: ``.05``, ``1/20``, ``\\frac{1}{20}``, ``5E-02``, ``5 x 10^-2`` and ``5%``
are all 0.05. The answer is taken from ``\\boxed{}``, then "Answer: ...", then the last number."""

from __future__ import annotations

import math
import re

from studio.evaluation.graders.base import Grade, Grader

# Thousands separators only in groups of three, so "1,2" is two numbers, not twelve. Each
# digit run splits one way only (``\d+(?:\.\d*)?``, not ``\d+\.?\d*``, whose two runs split
# a long number n ways at each of n backtracking steps): 10,000 digits took 11 s that way.
_NUM = r"[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)"
# Order matters: the longest forms first, so "5 x 10^-2" is not read as "5" then "10" then "-2".
_VALUE = re.compile(
    r"\\[dt]?frac\{\s*(?P<fn>" + _NUM + r")\s*\}\{\s*(?P<fd>" + _NUM + r")\s*\}"
    r"|(?P<sm>" + _NUM + r")\s*(?:x|\*|\u00d7|\\times|\\cdot)\s*"
    r"10\s*\^\s*\{?\s*(?P<se>[-+]?\d+)\s*\}?"
    r"|(?P<n>" + _NUM + r")\s*/\s*(?P<d>" + _NUM + r")"
    r"|(?P<e>" + _NUM + r"[eE][-+]?\d+)"
    r"|(?P<p>" + _NUM + r")\s*(?:%|\\%|percent)"
    r"|(?P<x>" + _NUM + r")"
)
_BOXED = re.compile(r"\\boxed\{((?:[^{}]|\{[^{}]*\})*)\}")
_ANSWER = re.compile(r"(?:final answer|answer)\s*(?:is)?\s*[:=]?\s*(.+)", re.IGNORECASE)


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _value(match: re.Match[str]) -> float | None:
    g = match.groupdict()
    try:
        if g["fn"] is not None:
            return _num(g["fn"]) / _num(g["fd"])
        if g["sm"] is not None:
            return _num(g["sm"]) * 10.0 ** int(g["se"])
        if g["n"] is not None:
            return _num(g["n"]) / _num(g["d"])
        if g["e"] is not None:
            return _num(g["e"])
        if g["p"] is not None:
            return _num(g["p"]) / 100.0
        return _num(g["x"])
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


def numbers_in(text: str) -> list[float]:
    """Every number written in ``text``, in order, each in whichever form it was written."""
    values = (_value(m) for m in _VALUE.finditer(text))
    return [v for v in values if v is not None and math.isfinite(v)]


def extract_answer(response: str) -> tuple[float | None, str]:
    """The response's answer and where it came from (boxed, "Answer:", or the last number)."""
    for source, pattern in (("\\boxed{}", _BOXED), ("'Answer:'", _ANSWER)):
        found = pattern.findall(response)
        if found:
            values = numbers_in(found[-1])
            if values:
                return values[0], source
    values = numbers_in(response)
    return (values[-1], "the last number") if values else (None, "no number")


def reference_value(reference: str) -> float | None:
    """A reference may be a bare number or a GSM8K-style worked answer ending in '#### 42'."""
    tail = reference.rsplit("####", 1)[-1]
    values = numbers_in(tail)
    return values[-1] if values else None


def close(a: float, b: float, rel_tol: float, abs_tol: float) -> bool:
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


class NumericGrader(Grader):
    """1 when the response's answer equals the reference's number within a tolerance."""

    name = "numeric"

    def __init__(self, rel_tol: float = 1e-6, abs_tol: float = 1e-9):
        self.rel_tol = rel_tol
        self.abs_tol = abs_tol

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        expected = reference_value(reference or "")
        if expected is None:
            return Grade(0.0, f"the reference {reference!r} has no number")
        got, source = extract_answer(response)
        if got is None:
            return Grade(0.0, "the response has no number")
        if close(got, expected, self.rel_tol, self.abs_tol):
            return Grade(1.0, f"{got:g} (from {source}) equals {expected:g}")
        return Grade(0.0, f"{got:g} (from {source}) is not {expected:g}")
