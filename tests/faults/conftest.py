"""The fault suite: hostile and unlucky inputs, one module per family (test_fault_<family>.py).

Each test case is one probe. At the end of the run a summary line per family says how many
probes were tried, how many were handled (the test passed: a clear message, no traceback, no
hang) and how many confirmed writes were lost (tests that check durability report it through
``lost_writes``). When the whole suite ran (every ``test_fault_*.py`` module, nothing
deselected, no early stop) the same lines go to ``bench/results/faults-latest.txt``, so the
figures can be re-measured and compared; a partial run (one file, ``-k``, ``-x``) leaves that
file alone, so everyday test runs do not change the tree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from small_disk import mounted_small_disk

_TRIED: dict[str, int] = defaultdict(int)
_HANDLED: dict[str, int] = defaultdict(int)
_LOST: dict[str, int] = defaultdict(int)
_COLLECTED: set[str] = set()  # node ids of the fault probes this session will run
_REPORTED: set[str] = set()
_DESELECTED: list[str] = []
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "faults-latest.txt"


def _family(nodeid: str) -> str | None:
    name = nodeid.split("::")[0].rsplit("/", 1)[-1]
    if not name.startswith("test_fault_"):
        return None
    return name.removeprefix("test_fault_").removesuffix(".py")


def pytest_collection_finish(session: pytest.Session) -> None:
    _COLLECTED.update(item.nodeid for item in session.items if _family(item.nodeid))


def pytest_deselected(items: list[pytest.Item]) -> None:
    _DESELECTED.extend(item.nodeid for item in items if _family(item.nodeid))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    family = _family(report.nodeid)
    if family is None:
        return
    _REPORTED.add(report.nodeid)
    if report.skipped:
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


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB disk to fill."""
    with mounted_small_disk(tmp_path / "small-disk", 4) as mount:
        yield mount


def summary_lines() -> list[str]:
    return [f"{family}: {_TRIED[family]} tried, {_HANDLED[family]} handled,"
            f" {_LOST[family]} confirmed writes lost" for family in sorted(_TRIED)]


def whole_suite_ran() -> bool:
    """Every fault module was collected, nothing was deselected, and every probe reported."""
    modules = {path.name for path in Path(__file__).parent.glob("test_fault_*.py")}
    collected = {nodeid.split("::")[0].rsplit("/", 1)[-1] for nodeid in _COLLECTED}
    return (bool(modules) and modules <= collected and not _DESELECTED
            and _COLLECTED <= _REPORTED)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = summary_lines()
    if not lines:
        return
    terminalreporter.section("fault suite")
    for line in lines:
        terminalreporter.write_line(line)
    if whole_suite_ran():
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("\n".join(lines) + "\n")
        terminalreporter.write_line(f"written to {RESULTS}")
    else:
        terminalreporter.write_line(f"a partial fault run: {RESULTS.name} was left as it was")
