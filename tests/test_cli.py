"""The command line, run as a user would run it, and its help texts (docs are tested)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from studio.cli.main import main, make_parser


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "studio.cli.main", *args], capture_output=True,
                          text=True, check=False, timeout=120)


def test_import_export_stats_as_a_user_would(tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"Q{i}", "chosen": "yes", "rejected": "no"})
                            + "\n" for i in range(12)))
    home = str(tmp_path / "home")
    imported = run_cli("--data-dir", home, "import", str(data))
    assert imported.returncode == 0, imported.stderr
    assert "12 new prompts" in imported.stdout
    exported = run_cli("--data-dir", home, "export", "--kind", "dpo", "--out",
                       str(tmp_path / "snap"))
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "snap" / "manifest.json").exists()
    stats = json.loads(run_cli("--data-dir", home, "stats").stdout)
    assert (stats["prompts"], stats["dpo"]) == (12, 12)


def test_bad_input_exits_1_with_the_location(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"prompt": \n')
    assert main(["--data-dir", str(tmp_path / "d"), "import", str(bad)]) == 1
    assert "bad.jsonl: line 2: invalid JSON" in capsys.readouterr().err


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


@pytest.mark.parametrize("command", sorted(_subparsers(make_parser())))
def test_every_command_and_option_has_help(command: str) -> None:
    parser = make_parser()
    helps = {a.dest: a.help for a in parser._actions if isinstance(a, argparse._SubParsersAction)}
    assert helps
    sub = _subparsers(parser)[command]
    choices = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    described = {c.dest: c.help for c in choices._choices_actions}
    assert described.get(command), f"'{command}' has no help"
    for action in sub._actions:
        if action.dest != "help":
            assert action.help, f"'{command} {action.dest}' has no help"
