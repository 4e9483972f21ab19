"""Efficacy on the real SmolLM2-135M-Instruct (slow: tens of CPU minutes; opt in with -m slow).

GRPO with the numeric grader on one-step sums, and rejection-sampling SFT on the same prompts,
must raise the held-out greedy pass rate beyond the base's 95% interval. The driver is
bench/real_grpo_efficacy.py; its recorded output is in
bench/results/2026-12-03-real-grpo-efficacy.txt.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.real_grpo_efficacy import (
    generate,
    pass_rate,
    run_grpo,
    run_rejection_sampling,
    setup_store,
    task,
)
from tests.rule_task import wilson

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base_rate(real_model_dir: Path) -> tuple[int, int]:
    _, held_out = task()
    return pass_rate(generate(str(real_model_dir), None, [q for q, _ in held_out], False),
                     held_out)


@pytest.mark.parametrize("method", ["grpo", "rejection-sampling"])
def test_method_raises_the_held_out_pass_rate(method: str, real_model_dir: Path,
                                              base_rate: tuple[int, int],
                                              tmp_path: Path) -> None:
    train, held_out = task()
    store, paths = setup_store(tmp_path, train, held_out)
    model = str(real_model_dir)
    if method == "grpo":
        _, adapter = run_grpo(store, paths, model, {})
    else:
        _, adapter = run_rejection_sampling(store, paths, model, train, {})
    store.close()
    passed, n = pass_rate(generate(model, adapter, [q for q, _ in held_out], False), held_out)
    _, base_high = wilson(*base_rate)
    assert passed / n > base_high, (passed, n, base_rate)
