"""Child process of :class:`PythonFileGrader`: loads the user's file, grades JSON from stdin.

Kept apart from the caller on purpose: the user's code runs only here."""

from __future__ import annotations

import json
import runpy
import sys
from typing import Any


def _as_grade(value: Any) -> dict[str, Any]:
    if isinstance(value, tuple):
        score, reason = value
        return {"score": float(score), "reason": str(reason)}
    return {"score": float(value), "reason": f"grade() returned {float(value):g}"}


def main(argv: list[str]) -> int:
    namespace = runpy.run_path(argv[0])
    grade = namespace.get("grade")
    if not callable(grade):
        sys.stderr.write(f"{argv[0]} defines no function grade(prompt, response, reference)\n")
        return 2
    items = json.load(sys.stdin)
    results = [_as_grade(grade(i["prompt"], i["response"], i["reference"])) for i in items]
    sys.stdout.write(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
