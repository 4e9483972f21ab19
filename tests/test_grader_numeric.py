"""Numeric equivalence: every written form of 0.05, and responses that try to fool the grader."""

from __future__ import annotations

import pytest

from studio.evaluation.graders import parse_spec
from studio.evaluation.graders.numeric import extract_answer, reference_value

FORMS = [".05", "1/20", r"\frac{1}{20}", r"\dfrac{1}{20}", "5E-02", "5e-2", "5 x 10^-2",
         r"5 \times 10^{-2}", "5 \u00d7 10^-2", "5%", "0.05", "0.050000001"]


@pytest.mark.parametrize("form", FORMS)
def test_every_form_of_five_hundredths_equals_the_reference(form: str) -> None:
    grade = parse_spec("numeric").score("", f"The result is {form}", "0.05")
    assert grade.score == 1.0, grade.reason


@pytest.mark.parametrize("wrong", ["0.5", "1/2", "5", "50%", "5 x 10^-3"])
def test_other_values_fail(wrong: str) -> None:
    assert parse_spec("numeric").score("", wrong, "0.05").score == 0.0


def test_boxed_wins_over_a_later_number() -> None:
    value, source = extract_answer(r"so \boxed{42}. Check: 6 * 7 = 42, not 41")
    assert (value, source) == (42.0, "\\boxed{}")


def test_answer_line_wins_over_the_last_number() -> None:
    value, _ = extract_answer("Answer: 12\nI used 3 steps")
    assert value == 12.0


def test_prompt_number_echoed_back_does_not_count_when_the_answer_comes_last() -> None:
    grader = parse_spec("numeric")
    prompt = "Tom has 3 apples and buys 4 more. How many?"
    assert grader.score(prompt, "Tom had 3 apples, bought 4, so 7.", "7").score == 1.0
    assert grader.score(prompt, "Tom has 3 apples and buys 4 more.", "7").score == 0.0


def test_several_numbers_take_the_last_and_no_number_scores_zero() -> None:
    grader = parse_spec("numeric")
    assert grader.score("", "first 10, then 20, finally 30", "30").score == 1.0
    none = grader.score("", "I don't know", "30")
    assert none.score == 0.0
    assert "no number" in none.reason


def test_gsm8k_reference_and_thousands_separators() -> None:
    assert reference_value("48/2 = 24 clips in May.\n#### 72") == 72.0
    assert parse_spec("numeric").score("", "It costs $1,200.", "#### 1200").score == 1.0
    assert extract_answer("1,2")[0] == 2.0


def test_reference_without_a_number_is_reported() -> None:
    grade = parse_spec("numeric").score("", "5", "five")
    assert grade.score == 0.0
    assert "reference" in grade.reason
