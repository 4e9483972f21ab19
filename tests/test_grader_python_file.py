"""The user's Python-file grader runs in a child process: results, hangs and crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.evaluation.graders import parse_spec
from studio.evaluation.graders.pyfile import GraderFileError, PythonFileGrader


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "g.py"
    path.write_text(body, encoding="utf-8")
    return path


def test_float_and_tuple_results_and_the_file_hash(tmp_path: Path) -> None:
    path = write(tmp_path, "def grade(prompt, response, reference):\n"
                 "    ok = response.strip() == reference\n"
                 "    return (1.0 if ok else 0.0, 'same' if ok else 'differs')\n")
    grader = parse_spec(f"python:{path}")
    assert isinstance(grader, PythonFileGrader)
    assert len(grader.sha256) == 64
    grades = grader.score_batch(["p", "p"], ["a ", "b"], ["a", "a"])
    assert [(g.score, g.reason) for g in grades] == [(1.0, "same"), (0.0, "differs")]


def test_a_hanging_grader_is_stopped_and_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "import time\ndef grade(p, r, ref):\n    time.sleep(60)\n")
    grade = PythonFileGrader(path, timeout_s=2.0).score("p", "r", None)
    assert grade.score == 0.0
    assert "timed out" in grade.reason


def test_a_raising_grader_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "def grade(p, r, ref):\n    raise KeyError('boom')\n")
    grade = parse_spec(f"python:{path}").score("p", "r", None)
    assert grade.score == 0.0
    assert "KeyError" in grade.reason


def test_a_file_without_grade_and_a_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "x = 1\n")
    assert "defines no function" in parse_spec(f"python:{path}").score("p", "r", None).reason
    with pytest.raises(GraderFileError, match="does not exist"):
        PythonFileGrader(tmp_path / "absent.py")


def test_a_grader_reading_stdin_gets_nothing_and_the_answers_stay_intact(tmp_path: Path) -> None:
    path = write(tmp_path, "def grade(p, r, ref):\n    return float(len(input()))\n")
    grades = parse_spec(f"python:{path}").score_batch(["p", "p"], ["a", "b"], [None, None])
    assert all("EOFError" in g.reason for g in grades)
