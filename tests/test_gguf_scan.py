"""Finding GGUFs where people keep them: Ollama's store, LM Studio, the HF cache, a folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.registry import gguf_scan


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("OLLAMA_MODELS", raising=False)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_HOME", raising=False)
    return tmp_path


def test_ollama_manifests_name_their_gguf_blobs(home: Path) -> None:
    root = home / ".ollama" / "models"
    blob = root / "blobs" / ("sha256-" + "ab" * 32)
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"GGUF")
    manifest = root / "manifests" / "registry.ollama.ai" / "library" / "smollm2" / "135m"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"layers": [
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:" + "cd" * 32},
        {"mediaType": gguf_scan.OLLAMA_MODEL_LAYER, "digest": "sha256:" + "ab" * 32}]}))
    (manifest.parent / "broken").write_text("{not json")
    assert gguf_scan.scan_ollama() == [gguf_scan.FoundGGUF(blob, "ollama", "smollm2:135m")]


def test_lmstudio_hf_cache_and_picked_folders(home: Path, tmp_path: Path) -> None:
    lm = home / ".lmstudio" / "models" / "pub" / "repo"
    lm.mkdir(parents=True)
    (lm / "model-Q4_K_M.gguf").write_bytes(b"GGUF")
    (lm / "mmproj-model-f16.gguf").write_bytes(b"GGUF")  # a vision projector, not a model
    snap = home / ".cache" / "huggingface" / "hub" / "models--org--m-GGUF" / "snapshots" / "a1"
    snap.mkdir(parents=True)
    (snap / "m-00001-of-00002.gguf").write_bytes(b"GGUF")
    (snap / "m-00002-of-00002.gguf").write_bytes(b"GGUF")  # the second part: not offered
    picked = tmp_path / "picked"
    picked.mkdir()
    (picked / "mine.gguf").write_bytes(b"GGUF")
    found = gguf_scan.scan_all([picked, lm.parent])  # lm again: each file once
    assert [(f.source, f.name) for f in found] == [
        ("lmstudio", "model-Q4_K_M"), ("hf-cache", "org/m-GGUF/m-00001-of-00002.gguf"),
        ("folder", "mine")]
