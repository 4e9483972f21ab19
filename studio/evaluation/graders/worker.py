"""The grading process: ``python -m studio.evaluation.graders.worker SPEC TIME_S MEMORY_MB``.

Started by :class:`studio.evaluation.graders.sandbox.GraderProcess`, which kills it (with its
whole process group) when one answer takes longer than its time limit or a stop is asked for.
It reads one JSON item per line on stdin and answers one JSON line per item on a private copy
of its stdout, so whatever the grader prints (fd 1 goes to stderr) never garbles the answers.

The first line it writes is ``{"ready": true}``, or ``{"fatal": MESSAGE}`` when the grader
cannot be built (a Python file that fails on import or defines no ``grade``).

A Python-file grader (``python:FILE``) is the user's own code and runs with the user's rights:
it can read and write their files and use the network. What this process adds is a memory
limit (the address space, on Linux and macOS), a wall-clock alarm that ends the process even
if its parent is gone, and answers that survive prints, exits and crashes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import runpy
import signal
import sys
from collections.abc import Callable
from typing import IO, Any

REASON_CHARS = 500  # a reason is a short sentence; a grader's essay is cut
# How long past the parent's own limit the process ends itself (its parent may be gone).
SELF_ALARM_GRACE_S = 5

Scorer = Callable[[str, str, "str | None"], tuple[float, str]]


def limit_memory(megabytes: int) -> None:
    """Cap the address space (soft and hard, so the grader cannot raise it back)."""
    if megabytes <= 0:
        return
    try:
        import resource
    except ImportError:  # Windows: no rlimits; the time limit still holds
        return
    size = megabytes * 2**20
    try:
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    except (ValueError, OSError):
        pass  # the system refuses this limit (macOS can): the time limit still holds


def _as_grade(value: Any) -> tuple[float, str]:
    """``grade()``'s result as (score, reason): a number, or a (number, reason) pair."""
    reason = None
    if isinstance(value, tuple) and len(value) == 2:
        value, reason = value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"grade() must return a number or (number, reason), not"
                        f" {type(value).__name__}")
    score = float(value)
    if not math.isfinite(score):
        raise ValueError(f"grade() returned {score}, not a number in [0, 1]")
    return score, str(reason) if reason is not None else f"grade() returned {score:g}"


def python_scorer(path: str) -> Scorer:
    namespace = runpy.run_path(path, run_name="grader")
    grade = namespace.get("grade")
    if not callable(grade):
        raise LookupError(f"{path} defines no function grade(prompt, response, reference)")
    return lambda prompt, response, reference: _as_grade(grade(prompt, response, reference))


def spec_scorer(spec: str) -> Scorer:
    from studio.evaluation.graders.spec import parse_spec

    grader = parse_spec(spec)

    def score(prompt: str, response: str, reference: str | None) -> tuple[float, str]:
        found = grader.score(prompt, response, reference)
        return found.score, found.reason

    return score


def build(spec: str) -> Scorer:
    return python_scorer(spec[len("python:"):]) if spec.startswith("python:") else \
        spec_scorer(spec)


def _answer(scorer: Scorer, item: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    try:
        score, reason = scorer(str(item["prompt"]), str(item["response"]), item.get("reference"))
    except MemoryError:
        return {"error": f"ran out of memory (the limit is {memory_mb} MB)"}
    except RecursionError:
        return {"error": "recursed too deep (RecursionError)"}
    except SystemExit as error:
        return {"error": f"called exit({error.code!r}) instead of returning a score"}
    except Exception as error:  # noqa: BLE001 - the grader's failure is this answer's reason
        return {"error": f"{type(error).__name__}: {error}"[:REASON_CHARS]}
    return {"score": score, "reason": reason[:REASON_CHARS]}


def _private_pipes() -> tuple[IO[str], IO[str]]:
    """Keep the protocol on private copies of fd 0 and fd 1; the grader's prints go to stderr
    and its reads of stdin get nothing."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = sys.stderr
    return requests, channel


def _send(channel: IO[str], message: dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def _alarm(seconds: float) -> None:
    if hasattr(signal, "alarm"):
        signal.alarm(math.ceil(seconds) if seconds > 0 else 0)


def adopt_orphans() -> None:
    """Linux: become a child subreaper, so what the grader starts stays under this process
    even when it calls setsid() and double-forks (a daemon); the parent then finds and kills
    all of it at the limit (``sandbox._kill_tree``). Elsewhere a daemonising grader's
    grandchildren can escape; its process group still dies."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_child_subreaper = 36  # <linux/prctl.h>
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def main(argv: list[str]) -> int:
    spec, time_s, memory_mb = argv[0], float(argv[1]), int(argv[2])
    adopt_orphans()
    requests, channel = _private_pipes()
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the alarm ends the process outright
    limit_memory(memory_mb)
    try:
        scorer = build(spec)
    except BaseException as error:  # noqa: BLE001 - whatever the file's top level does
        _send(channel, {"fatal": f"{type(error).__name__}: {error}"[:REASON_CHARS]})
        return 2
    _send(channel, {"ready": True})
    for line in requests:
        _alarm(time_s + SELF_ALARM_GRACE_S)
        answer = _answer(scorer, json.loads(line), memory_mb)
        _alarm(0)
        _send(channel, answer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
