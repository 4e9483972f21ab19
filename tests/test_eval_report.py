"""Wilson intervals, the exact McNemar test and flips."""

from __future__ import annotations

import pytest

from studio.evaluation.report import Result, compare, mcnemar_exact, wilson


def test_wilson_matches_known_values() -> None:
    interval = wilson(8, 10)
    assert (interval.low, interval.high) == (pytest.approx(0.4902, abs=1e-4),
                                             pytest.approx(0.9433, abs=1e-4))
    assert wilson(0, 10).low == 0.0
    assert wilson(10, 10).high == pytest.approx(1.0)
    assert wilson(0, 0).n == 0


def test_mcnemar_exact() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(10, 0) == pytest.approx(2 / 1024)
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(6, 1) == pytest.approx(0.125)


def test_compare_pairs_by_key_and_lists_flips() -> None:
    before = [Result(str(i), f"q{i}", "old", passed=i < 2) for i in range(12)]
    after = [Result(str(i), f"q{i}", "new", passed=i != 0) for i in range(12)]
    result = compare(before, after)
    assert result.before.rate == pytest.approx(2 / 12)
    assert result.after.rate == pytest.approx(11 / 12)
    assert sum(f.better for f in result.flips) == 10
    assert [f.key for f in result.flips if not f.better] == ["0"]
    assert result.p_value < 0.05
    assert result.verdict.startswith("significantly better")
    assert result.as_dict()["flips"][0]["before"] == "old"


def test_worse_and_unpaired() -> None:
    before = [Result(str(i), "q", "a", passed=True) for i in range(10)]
    after = [Result(str(i), "q", "b", passed=False) for i in range(8)]
    result = compare(before, after)
    assert result.before.n == 8
    assert "worse" in result.verdict
