"""The fault suite: hostile and unlucky inputs, one module per family (test_fault_<family>.py).

Each test case is one probe. At the end of the run a summary line per family says how many
probes were tried, how many were handled (the test passed: a clear message, no traceback, no
hang) and how many confirmed writes were lost (tests that check durability report it through
``lost_writes``). The same lines go to ``bench/results/faults-latest.txt`` so the figures can
be re-measured and compared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

_TRIED: dict[str, int] = defaultdict(int)
_HANDLED: dict[str, int] = defaultdict(int)
_LOST: dict[str, int] = defaultdict(int)
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "faults-latest.txt"


def _family(nodeid: str) -> str | None:
    name = nodeid.split("::")[0].rsplit("/", 1)[-1]
    if not name.startswith("test_fault_"):
        return None
    return name.removeprefix("test_fault_").removesuffix(".py")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    family = _family(report.nodeid)
    if family is None or report.skipped:
        return
    if report.when == "call" or (report.when == "setup" and report.failed):
        _TRIED[family] += 1
        _HANDLED[family] += int(report.passed)


@pytest.fixture
def lost_writes(request: pytest.FixtureRequest) -> Callable[[int], None]:
    """Report how many confirmed writes a probe found missing afterwards (0 is the goal)."""
    family = _family(request.node.nodeid) or "other"

    def record(count: int) -> None:
        _LOST[family] += count

    return record


def summary_lines() -> list[str]:
    return [f"{family}: {_TRIED[family]} tried, {_HANDLED[family]} handled,"
            f" {_LOST[family]} confirmed writes lost" for family in sorted(_TRIED)]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = summary_lines()
    if not lines:
        return
    terminalreporter.section("fault suite")
    for line in lines:
        terminalreporter.write_line(line)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
