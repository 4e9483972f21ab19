"""TrainConfig validation, presets and the pre-flight checks (no ML libraries involved)."""

from __future__ import annotations

import json
import shutil
from dataclasses import fields
from pathlib import Path

import pytest

from backends.lib.train_synthetic import populate
from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.jobs.config import field_help
from studio.paths import DataPaths
from studio.training.config import (
    PRESETS,
    ConfigError,
    TrainConfig,
    kto_weights,
)
from studio.training.memory import GB
from studio.training.preflight import Check, PreflightError, preflight, require_ok

PLENTY = ("cpu", 64 * GB)


def errors(checks: list[Check]) -> list[str]:
    return [c.message for c in checks if c.level == "error"]


def test_every_field_has_help() -> None:
    helps = {f.name: field_help(TrainConfig, f.name) for f in fields(TrainConfig)}
    assert all(len(text) > 10 for text in helps.values()), helps


def test_presets_and_method_defaults() -> None:
    quick = TrainConfig.for_method("kto", "m", "quick")
    assert quick.num_epochs == PRESETS["quick"]["num_epochs"]
    assert quick.effective_learning_rate == 5e-4  # measured on a real model (config.py)
    assert TrainConfig.for_method("kto", "m", adapter="full").effective_learning_rate == 5e-6
    assert TrainConfig.for_method("sft", "m", learning_rate=1e-3).effective_learning_rate == 1e-3
    assert quick.with_preset("thorough").lora_r == 32
    with pytest.raises(ConfigError, match="unknown preset"):
        TrainConfig.for_method("sft", "m", "huge")


@pytest.mark.parametrize(
    ("changes", "needle"),
    [({"method": "ppo"}, "field 'method'"), ({"batch_size": 0}, "field 'batch_size'"),
     ({"method": "kto", "batch_size": 2}, "KTO needs at least 4"),
     ({"learning_rate": 5.0}, "field 'learning_rate'"), ({"max_steps": 0}, "field 'max_steps'"),
     ({"lora_r": "8"}, "expected int"), ({"model": ""}, "choose a base model"),
     ({"adapter": "full", "init_adapter": "x"}, "field 'init_adapter'")],
)
def test_bad_values_name_their_field(changes: dict, needle: str) -> None:
    data = {**TrainConfig(model="m").to_dict(), **changes}
    with pytest.raises(ConfigError, match=needle):
        TrainConfig.from_dict(data)


def test_config_files_round_trip_and_report_problems(tmp_path: Path) -> None:
    config = TrainConfig.for_method("dpo", "m", beta=0.2)
    config.save(tmp_path / "config.json")
    assert TrainConfig.load(tmp_path / "config.json") == config
    (tmp_path / "bad.json").write_text('{"method": "dpo",\n "model": }')
    with pytest.raises(ConfigError, match=r"bad\.json, line 2: not JSON"):
        TrainConfig.load(tmp_path / "bad.json")
    (tmp_path / "extra.json").write_text(json.dumps({"model": "m", "epochs": 3}))
    with pytest.raises(ConfigError, match=r"unknown field.*epochs"):
        TrainConfig.load(tmp_path / "extra.json")


def test_kto_weights_balance_the_classes() -> None:
    assert kto_weights(30, 10) == (1.0, 3.0)
    assert kto_weights(10, 40) == (4.0, 1.0)
    up, down = kto_weights(25, 10)
    assert 1 <= up * 25 / (down * 10) <= 4 / 3


@pytest.fixture
def snapshots(store: Store, data_paths: DataPaths) -> dict[str, Path]:
    populate(store, 24)
    return {kind: export_snapshot(store, kind, data_paths.snapshots / kind, 0.2).path
            for kind in ("sft", "dpo", "kto")}


@pytest.mark.parametrize("method", ["sft", "dpo", "kto"])
def test_good_runs_pass(method: str, snapshots: dict[str, Path], demo_model_dir: Path) -> None:
    config = TrainConfig.for_method(method, str(demo_model_dir), max_length=256)
    checks = preflight(config, snapshots[method], PLENTY)
    assert errors(checks) == []
    memory = next(c for c in checks if c.topic == "memory")
    assert "GB" in memory.message
    if method != "sft":
        assert "no second model copy" in memory.message
    require_ok(checks)


def rewrite(snapshot: Path, rows: list[dict]) -> None:
    (snapshot / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_dataset_problems(snapshots: dict[str, Path], demo_model_dir: Path,
                          tmp_path: Path) -> None:
    model = str(demo_model_dir)
    kto = shutil.copytree(snapshots["kto"], tmp_path / "kto")
    rows = [json.loads(line) for line in (kto / "train.jsonl").read_text().splitlines()]
    rewrite(kto, [r for r in rows if r["label"]])
    assert any("no thumbs-down" in m for m in errors(
        preflight(TrainConfig.for_method("kto", model), kto, PLENTY)))
    rewrite(kto, [])
    assert any("no KTO training examples" in m for m in errors(
        preflight(TrainConfig.for_method("kto", model), kto, PLENTY)))
    rewrite(kto, rows[:2])
    assert any("only 2 training examples" in m for m in errors(
        preflight(TrainConfig.for_method("kto", model), kto, PLENTY)))

    dpo = shutil.copytree(snapshots["dpo"], tmp_path / "dpo")
    rows = [json.loads(line) for line in (dpo / "train.jsonl").read_text().splitlines()]
    rows[2]["rejected"] = rows[2]["chosen"]
    rewrite(dpo, rows)
    assert any("line(s) 3: chosen and rejected are identical" in m for m in errors(
        preflight(TrainConfig.for_method("dpo", model), dpo, PLENTY)))
    (dpo / "train.jsonl").write_text('{"prompt": [}\n')
    assert any("train.jsonl, line 1: not JSON" in m for m in errors(
        preflight(TrainConfig.for_method("dpo", model), dpo, PLENTY)))

    mismatch = errors(preflight(TrainConfig.for_method("sft", model), snapshots["kto"], PLENTY))
    assert any("holds KTO data but the method is SFT" in m for m in mismatch)
    not_snapshot = errors(preflight(TrainConfig.for_method("sft", model), tmp_path, PLENTY))
    assert any("not a dataset snapshot" in m for m in not_snapshot)


def test_long_examples_are_counted(snapshots: dict[str, Path], demo_model_dir: Path) -> None:
    config = TrainConfig.for_method("sft", str(demo_model_dir), max_length=16)
    warning = next(c for c in preflight(config, snapshots["sft"], PLENTY) if c.topic == "length")
    assert warning.level == "warning"
    assert "longer than max_length 16 tokens" in warning.message
    assert "dropped" in warning.message or "end cut" in warning.message


def test_model_problems(snapshots: dict[str, Path], demo_model_dir: Path,
                        tmp_path: Path) -> None:
    def model_errors(model: str) -> list[str]:
        return errors(preflight(TrainConfig.for_method("sft", model), snapshots["sft"], PLENTY))

    assert any("does not exist" in m for m in model_errors(str(tmp_path / "nowhere")))
    assert any("no config.json" in m for m in model_errors(str(tmp_path)))
    assert any("neither a local folder nor in the Hugging Face cache" in m
               for m in model_errors("nobody/nothing-here"))
    broken = shutil.copytree(demo_model_dir, tmp_path / "noweights")
    (broken / "model.safetensors").unlink()
    assert any("has no weights" in m for m in model_errors(str(broken)))
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "architectures": ["BertModel"]}))
    assert any("without a causal-LM head" in m for m in model_errors(str(broken)))


def test_memory_shortage_blocks_the_launch(snapshots: dict[str, Path],
                                           demo_model_dir: Path) -> None:
    config = TrainConfig.for_method("dpo", str(demo_model_dir))
    checks = preflight(config, snapshots["dpo"], ("cuda", 100 * 1024**2))
    with pytest.raises(PreflightError, match=r"training needs about .* free on cuda"):
        require_ok(checks)
    full = preflight(TrainConfig.for_method("dpo", str(demo_model_dir), adapter="full"),
                     snapshots["dpo"], PLENTY)
    assert any("reference copy" in c.message for c in full if c.topic == "memory")
