"""Every child process starts one way: ``python -m backends.X --job-dir DIR``, parsed by
``make_job_parser`` and run by ``run_job`` (or ``run_store_job``), so each writes its pid,
honours the one stop mechanism and reports a failure as a ``failed`` event with its log.
Checked on the source (AST), so a new entry point with its own parser fails here."""

from __future__ import annotations

import ast
from pathlib import Path

BACKENDS = Path(__file__).resolve().parent.parent / "backends"
# The chat worker is the one interactive process: commands on stdin, events on stdout.
INTERACTIVE = {"chat"}
# Entry points still to move onto run_job; each must leave this set when it does (see below).
NOT_YET: set[str] = set()  # none left: train moved onto run_job too
RUNNERS = {"run_job", "run_store_job"}


def entry_points() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(BACKENDS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if any(isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
               for node in tree.body):
            found[path.stem] = tree
    return found


def called_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            names.add(func.id if isinstance(func, ast.Name) else
                      func.attr if isinstance(func, ast.Attribute) else "")
    return names


def test_every_backend_entry_point_goes_through_run_job() -> None:
    points = entry_points()
    assert {"generate", "export", "gguf_import", "bundle_prepare", "demo_model"} <= set(points)
    wrong = {name: sorted({"make_job_parser", *RUNNERS} - called_names(tree))
             for name, tree in points.items()
             if name not in INTERACTIVE | NOT_YET
             and ("make_job_parser" not in called_names(tree)
                  or not RUNNERS & called_names(tree))}
    assert not wrong, f"entry points that bypass the job protocol (missing calls): {wrong}"


def test_no_entry_point_builds_its_own_parser() -> None:
    own = [name for name, tree in entry_points().items()
           if name not in INTERACTIVE and "ArgumentParser" in called_names(tree)]
    assert not own, f"use backends.lib.jobs.make_job_parser instead of argparse in: {own}"


def test_the_exceptions_are_still_exceptions() -> None:
    """Keep the allow-lists honest: an entry point converted (or gone) leaves them."""
    points = entry_points()
    assert INTERACTIVE | NOT_YET <= set(points)
    for name in NOT_YET:
        assert not RUNNERS & called_names(points[name]), f"{name}: drop it from NOT_YET"
