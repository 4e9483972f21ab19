"""Efficacy on the real SmolLM2-135M-Instruct (slow: tens of CPU minutes; opt in with -m slow).

One-step sums, "What is A plus B? Answer with just the number.", 40 training prompts, 60
held-out ones (an eval set, never trained on). GRPO rewarded by the numeric grader, and
rejection sampling (best of 8 by ``numeric``, then SFT), must each raise the held-out share of
right sums significantly (the eval report's McNemar test against the base, same prompts).
The driver is bench/real_grpo_efficacy.py; its recorded output is in
bench/results/2026-12-03-real-grpo-efficacy.txt.
"""

from __future__ import annotations

import pytest

from bench.real_grpo_efficacy import efficacy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(5400)]


@pytest.mark.parametrize(("method", "grader"), [("grpo", "numeric"), ("rs", "numeric")])
def test_method_raises_the_held_out_pass_rate(method: str, grader: str) -> None:
    outcome = efficacy(method, {})[method][grader]
    assert outcome["after"] > outcome["before"], outcome
    assert outcome["p"] < 0.05, outcome
    assert outcome["verdict"].startswith("significantly better"), outcome
