"""Rule graders, spec parsing and combinators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.evaluation.graders import AllOf, AnyOf, WeightedMean, parse_spec
from studio.evaluation.graders.spec import GraderSpecError


def score(spec: str, response: str, reference: str | None = None) -> float:
    return parse_spec(spec).score("a prompt", response, reference).score


def test_exact_and_normalized() -> None:
    assert score("exact", " Paris ", "Paris") == 1.0
    assert score("exact", "paris", "Paris") == 0.0
    assert score("normalized", "  PARIS!! ", "paris") == 1.0
    assert score("normalized", "Paris, France", "paris") == 0.0


def test_regex_and_must_not_match() -> None:
    assert score(r"regex:\bOK\b", "all OK here") == 1.0
    assert score(r"regex:\bOK\b", "OKAY") == 0.0
    assert score("not-regex:sorry", "sure thing") == 1.0
    assert score("not-regex:sorry", "sorry, no") == 0.0


def test_contains_all_and_none() -> None:
    assert score("contains:red|blue", "Blue and RED") == 1.0
    grade = parse_spec("contains:red|blue").score("", "only red", None)
    assert grade.score == 0.0
    assert "blue" in grade.reason
    assert score("excludes:as an AI|sorry", "Here it is") == 1.0
    assert score("excludes:as an AI|sorry", "As an AI I can't") == 0.0


def test_length_bounds_in_words() -> None:
    assert score("words:2-3", "one two three") == 1.0
    assert score("words:2-3", "one") == 0.0
    assert score("words:-3", "one two three four") == 0.0
    assert score("words:3-", "one two three four") == 1.0


def test_json_and_json_schema(tmp_path: Path) -> None:
    assert score("json", '{"a": 1}') == 1.0
    assert score("json", '```json\n{"a": 1}\n```') == 1.0
    bad = parse_spec("json").score("", "{a: 1}", None)
    assert bad.score == 0.0
    assert "line 1" in bad.reason
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"type": "object", "required": ["name"],
                                  "properties": {"age": {"type": "integer"}}}))
    assert score(f"json-schema:{schema}", '{"name": "x", "age": 3}') == 1.0
    wrong = parse_spec(f"json-schema:{schema}").score("", '{"name": "x", "age": "3"}', None)
    assert wrong.score == 0.0
    assert "age" in wrong.reason


def test_affixes_case_and_emoji() -> None:
    assert score("starts-with:Yes", "  Yes, indeed") == 1.0
    assert score("ends-with:.", "no stop") == 0.0
    assert score("lowercase", "all quiet") == 1.0
    assert score("lowercase", "Not quiet") == 0.0
    assert score("no-emoji", "plain text") == 1.0
    assert score("no-emoji", "party \U0001f389") == 0.0


def test_combinators() -> None:
    rules = [parse_spec("contains:red"), parse_spec("lowercase")]
    assert AllOf(rules).score("", "Red", None).score == 0.0
    assert AnyOf(rules).score("", "Red", None).score == 1.0
    mean = WeightedMean([(rules[0], 3.0), (rules[1], 1.0)]).score("", "Red", None)
    assert mean.score == pytest.approx(0.75)
    assert score("all:contains:red;;lowercase", "red") == 1.0
    assert score("any:exact;;regex:^R", "Red", "x") == 1.0


def test_batch_scoring_matches_single() -> None:
    grader = parse_spec("numeric")
    grades = grader.score_batch(["", ""], ["7", "8"], ["7", "7"])
    assert [g.score for g in grades] == [1.0, 0.0]


@pytest.mark.parametrize("spec", ["nope", "regex:(", "words:a-b", "exact:x"])
def test_bad_specs_are_named_errors(spec: str) -> None:
    with pytest.raises(GraderSpecError, match="spec"):
        parse_spec(spec)


def test_missing_schema_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(GraderSpecError, match=r"missing\.json"):
        parse_spec(f"json-schema:{tmp_path / 'missing.json'}")


def test_cli_grade_and_graders(capsys: pytest.CaptureFixture[str]) -> None:
    from studio.cli.main import main

    assert main(["grade", "--grader", "numeric", "--response", "it is 1/20",
                 "--reference", "0.05"]) == 0
    assert capsys.readouterr().out.startswith("1\t")
    assert main(["grade", "--grader", "regex:^no", "--response", "yes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == 0.0
    assert main(["graders"]) == 0
    assert "json-schema:FILE" in capsys.readouterr().out
    assert main(["grade", "--grader", "bogus", "--response", "x"]) == 1
    assert "unknown grader spec" in capsys.readouterr().err
