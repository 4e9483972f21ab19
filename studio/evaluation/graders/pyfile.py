"""A grader written by the user as ``def grade(prompt, response, reference)`` in a .py file.

It is the user's own code, run with the user's rights (it can read and write their files and
reach the network, as any script they run). What the studio guarantees is that it never takes
down its caller (the UI, the CLI, an eval or training run): it runs in a separate process
(:mod:`studio.evaluation.graders.worker`) with a time limit per answer, a memory limit, and
a process-group kill that also ends anything it started; prints, ``exit()`` and crashes become
one answer's score 0 with a reason naming the grader and the cause. The file's hash is kept
so a result says exactly which code graded it.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from studio.errors import StudioError
from studio.evaluation.graders.sandbox import DEFAULT_LIMITS, IsolatedGrader


class GraderFileError(StudioError):
    """A Python-file grader that cannot be used (missing file)."""


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class PythonFileGrader(IsolatedGrader):
    """Runs ``grade`` from a user's file in a worker process; a failure scores 0 with the
    reason. ``timeout_s`` is the limit per answer."""

    def __init__(self, path: Path, timeout_s: float = DEFAULT_LIMITS.time_s):
        resolved = Path(path).resolve()
        if not resolved.is_file():
            raise GraderFileError(f"grader file {resolved} does not exist; pick a .py file"
                                  " that defines grade(prompt, response, reference)")
        self.path = resolved
        self.sha256 = file_hash(resolved)
        super().__init__(f"python:{resolved}", f"python:{resolved}",
                         limits=replace(DEFAULT_LIMITS, time_s=timeout_s))
        self.worker.label = resolved.name

    @property
    def timeout_s(self) -> float:
        return self.limits.time_s
