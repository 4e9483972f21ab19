"""``tuning-studio train`` and ``runs`` through the CLI module (real backend, tiny model)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from backends.lib.train_synthetic import populate
from studio.cli.train import add_train_commands, run_train_command
from studio.db.store import Store
from studio.paths import DataPaths
from studio.training.config import ConfigError
from studio.training.preflight import PreflightError
from studio.training.runs import list_runs


def cli(store: Store, paths: DataPaths, *argv: str) -> int | None:
    parser = argparse.ArgumentParser()
    add_train_commands(parser.add_subparsers(dest="command"))
    return run_train_command(parser.parse_args(list(argv)), store, paths)


def test_train_from_flags_then_list(store: Store, data_paths: DataPaths, demo_model_dir: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    populate(store, 16)
    code = cli(store, data_paths, "train", "--kind", "kto", "--model", str(demo_model_dir),
               "--preset", "quick", "--set", "max_steps=3", "--set", "max_length=64")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "started on cpu (fp32)" in out
    assert "step 3/3 loss=" in out
    assert "finished: adapter in" in out
    (run,) = list_runs(store)
    assert run.status == "completed"
    assert run.train_config.max_steps == 3
    assert cli(store, data_paths, "runs", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["status"] == "completed"
    assert "eval_loss" in listed[0]["metrics"]
    assert cli(store, data_paths, "runs") == 0
    assert run.id in capsys.readouterr().out


def test_train_refuses_bad_input(store: Store, data_paths: DataPaths, demo_model_dir: Path,
                                 tmp_path: Path) -> None:
    populate(store, 16)
    with pytest.raises(PreflightError, match=r"DPO needs|does not exist"):
        cli(store, data_paths, "train", "--kind", "dpo", "--model", str(tmp_path / "none"))
    config = tmp_path / "run.json"
    config.write_text(json.dumps({"method": "sft", "model": str(demo_model_dir)}))
    with pytest.raises(ConfigError, match="snapshot"):
        cli(store, data_paths, "train", "--config", str(config))
    with pytest.raises(ConfigError, match="FIELD=VALUE"):
        cli(store, data_paths, "train", "--kind", "sft", "--model", "m", "--set", "epochs=3")
    assert list_runs(store) == []
    assert run_train_command(argparse.Namespace(command="stats"), store, data_paths) is None
