"""The after-training eval use case (studio/evaluation/auto.py): which jobs a before/after
needs, and ``tuning-studio train --eval-set`` printing it after a real tiny training run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from backends.lib.train_synthetic import populate
from studio.cli.train import add_train_commands, run_train_command
from studio.db.store import Store
from studio.errors import NotFoundError
from studio.evaluation.auto import (
    before_after,
    default_eval_set,
    plan,
    run_model,
    run_summaries,
)
from studio.evaluation.evalsets import create_eval_set
from studio.evaluation.jobs import save_result, set_status, start_run
from studio.paths import DataPaths
from studio.registry.models import add_adapter, add_base_model
from studio.training.config import ConfigError
from studio.training.runs import list_runs


def _set(store: Store, tmp_path: Path, name: str = "s") -> int:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"question": f"Say {w}", "answer": w}) + "\n"
                            for w in ("yes", "no", "maybe")))
    return create_eval_set(store, name, "regex:.*", from_file=path).id


def _adapter_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "lora"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    return folder


def test_plan_evaluates_the_parent_first_only_once(
        store: Store, demo_model_dir: Path, tmp_path: Path) -> None:
    set_id = _set(store, tmp_path)
    assert default_eval_set(store) == "s"
    base = add_base_model(store, demo_model_dir)
    adapter = add_adapter(store, _adapter_folder(tmp_path), base.id)
    first = plan(store, "s", adapter.id)
    assert [c.model_id for c in first] == [base.id, adapter.id]
    assert first[1].adapter_path == str((tmp_path / "lora").resolve())
    assert before_after(store, "s", adapter.id) is None
    for model_id, passes in ((base.id, [0, 0, 1]), (adapter.id, [1, 1, 1])):
        run_id = start_run(store, set_id, model_id)
        for prompt_id, passed in zip((1, 2, 3), passes, strict=True):
            save_result(store, run_id, prompt_id, f"r{passed}", float(passed), "")
        set_status(store, run_id, "completed")
    assert [c.model_id for c in plan(store, "s", adapter.id)] == [adapter.id]
    found = before_after(store, "s", adapter.id)
    assert found is not None
    assert (found.comparison.before.rate, found.comparison.after.rate) == (1 / 3, 1.0)
    assert len(found.comparison.flips) == 2
    assert "33% (" in found.summary()
    assert "100% (" in found.summary()


def cli(store: Store, paths: DataPaths, *argv: str) -> int | None:
    parser = argparse.ArgumentParser()
    add_train_commands(parser.add_subparsers(dest="command"))
    return run_train_command(parser.parse_args(list(argv)), store, paths)


def test_train_with_eval_set_prints_before_and_after(
        store: Store, data_paths: DataPaths, demo_model_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    populate(store, 16)
    _set(store, tmp_path)
    with pytest.raises(NotFoundError, match="nope"):
        cli(store, data_paths, "train", "--kind", "kto", "--model", str(demo_model_dir),
            "--eval-set", "nope")
    with pytest.raises(ConfigError, match="foreground"):
        cli(store, data_paths, "train", "--kind", "kto", "--model", str(demo_model_dir),
            "--eval-set", "s", "--detach")
    code = cli(store, data_paths, "train", "--kind", "kto", "--model", str(demo_model_dir),
               "--preset", "quick", "--set", "max_steps=2", "--set", "max_length=64",
               "--eval-set", "s")
    out = capsys.readouterr().out
    assert code == 0, out
    (run,) = list_runs(store)
    tuned = run_model(store, run.id)
    assert f"evaluating {tuned}" in out
    assert "eval 's': 100% (" in out
    assert "no significant difference" in out
    found = before_after(store, "s", tuned)
    assert found is not None
    assert found.comparison.after.n == 3
    assert run_summaries(store, run.id) == [found.summary()]
    assert run_summaries(store, "no-such-run") == []
