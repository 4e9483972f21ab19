"""A grader written by the user as ``def grade(prompt, response, reference)`` in a .py file.

It runs in a separate Python process with a time limit, so a grader that hangs, raises or exits
never takes down the caller (the UI, the CLI or a training run). The file's hash is kept so a
result says exactly which code graded it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from studio.errors import StudioError
from studio.evaluation.graders.base import Grade, Grader


class GraderFileError(StudioError):
    """A Python-file grader that cannot be used (missing file)."""


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class PythonFileGrader(Grader):
    """Runs ``grade`` from a user's file in a child process; a failure scores 0 with the reason."""

    def __init__(self, path: Path, timeout_s: float = 10.0):
        self.path = Path(path).resolve()
        if not self.path.is_file():
            raise GraderFileError(f"grader file {self.path} does not exist; pick a .py file"
                                  " that defines grade(prompt, response, reference)")
        self.timeout_s = timeout_s
        self.sha256 = file_hash(self.path)
        self.name = f"python:{self.path}"

    def score_batch(self, prompts: list[str], responses: list[str],  # type: ignore[override]
                    references: list[str | None]) -> list[Grade]:
        """One child process for the whole batch: imports are paid once."""
        items = [{"prompt": p, "response": r, "reference": ref}
                 for p, r, ref in zip(prompts, responses, references, strict=True)]
        return self._run(items)

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        return self._run([{"prompt": prompt, "response": response, "reference": reference}])[0]

    def _run(self, items: list[dict[str, str | None]]) -> list[Grade]:
        command = [sys.executable, "-m", "studio.evaluation.graders.pyrunner", str(self.path)]
        try:
            done = subprocess.run(command, input=json.dumps(items), capture_output=True,
                                  text=True, timeout=self.timeout_s, check=False)
        except subprocess.TimeoutExpired:
            # subprocess.run kills the child before raising, so nothing is left running.
            return [Grade(0.0, f"grader {self.path.name} timed out after {self.timeout_s:g} s")
                    for _ in items]
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return [Grade(0.0, f"grader {self.path.name} failed: {last}") for _ in items]
        return [Grade(float(g["score"]), str(g["reason"])) for g in json.loads(done.stdout)]
