"""Issues 12 and 24: no SQL outside the store and its query modules. The UI, the CLI and the
backends ask ``studio`` query functions and use cases; they never hold SQL text or call
``.execute(`` (or sqlite-utils' ``.query(``) themselves."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UI = ROOT / "ui"
# Where SQL does not belong: the GUI, the command line and the child processes.
NO_SQL = (UI, ROOT / "studio" / "cli", ROOT / "backends")
# Upper-case keywords only: the UI's own words ("Select a model…") are not SQL.
SQL = re.compile(r"\b(SELECT\b.*\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
                 r"|CREATE\s+(TABLE|INDEX)|PRAGMA\s+\w+)\b")
EXECUTE = {"execute", "executemany", "executescript", "query"}


def _offences(path: Path, root: Path = UI.parent) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and SQL.search(node.value):
            found.append(f"{path.relative_to(root)}:{node.lineno}: SQL text")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in EXECUTE:
            found.append(f"{path.relative_to(root)}:{node.lineno}: .{node.func.attr}(")
    return found


def test_the_ui_the_cli_and_the_backends_hold_no_sql() -> None:
    offences = [line for folder in NO_SQL for path in sorted(folder.rglob("*.py"))
                for line in _offences(path)]
    assert offences == [], "move these behind studio query functions:\n" + "\n".join(
        offences)


def test_the_check_finds_sql(tmp_path: Path) -> None:
    sample = tmp_path / "page.py"
    sample.write_text('db.execute("SELECT count(*) FROM prompts")\nlabel = "Select a model"\n',
                      encoding="utf-8")
    assert [line.split(": ")[1] for line in _offences(sample, tmp_path)] == [
        ".execute(", "SQL text"]
