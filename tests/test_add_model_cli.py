"""``tuning-studio add-model`` end to end through the CLI's main: the offline starter reuses the
machine's cached GGUF and conversion (no download, no conversion), and a hub id offline fails
in plain words with nothing registered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.cli.main import main
from studio.paths import CACHE_DIR_ENV, DataPaths
from studio.registry.starter import GGUF_NAME, STARTER_NAME, converted_starter


def _offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_gguf: Path,
                   real_model_dir: Path) -> Path:
    """A user cache whose starter folder holds the test cache's GGUF and its conversion."""
    cache = tmp_path / "cache"
    starter = cache / "starter"
    starter.mkdir(parents=True)
    (starter / GGUF_NAME).symlink_to(real_gguf)
    (starter / STARTER_NAME).symlink_to(real_model_dir, target_is_directory=True)
    monkeypatch.setenv(CACHE_DIR_ENV, str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the hub is "not reachable", without a network
    return starter


def test_starter_offline_registers_the_cached_conversion(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        data_paths: DataPaths, real_gguf: Path, real_model_dir: Path) -> None:
    starter = _offline_cache(tmp_path, monkeypatch, real_gguf, real_model_dir)
    assert converted_starter() == starter / STARTER_NAME

    assert main(["add-model", "--starter"]) == 0
    printed = capsys.readouterr().out
    registered = next(line for line in printed.splitlines() if line.startswith("registered "))
    model_id = registered.split()[1]
    assert f"{STARTER_NAME} (from GGUF {GGUF_NAME}, Q4_1)" in registered
    assert not (data_paths.root / "jobs").exists()  # no job ran: nothing fetched or converted

    assert main(["models", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    (entry,) = [e for e in entries if e["id"] == model_id]
    assert entry["origin"] == f"from GGUF {GGUF_NAME}, Q4_1"
    assert entry["lineage"] == [model_id]
    assert entry["path"] == str(real_model_dir.resolve())
    # Twice is still one model.
    assert main(["add-model", "--starter"]) == 0
    assert model_id in capsys.readouterr().out


def test_a_hub_id_offline_fails_in_plain_words(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        data_paths: DataPaths) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["add-model", "someone/not-a-cached-model"]) == 1
    err = capsys.readouterr().err
    assert "cannot download 'someone/not-a-cached-model'" in err
    assert "local model folder" in err
    assert main(["models", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
