"""Where people keep GGUF files: Ollama's model store, LM Studio's models folder, the Hugging
Face cache, and any folder they pick. Finding them is cheap (no file is opened); the header of
each is read with :func:`studio.registry.gguf_info.read_gguf_info` when it is shown.

Ollama stores each model as content-addressed blobs; a manifest per ``name:tag`` lists them,
and the layer of media type ``application/vnd.ollama.image.model`` is the GGUF.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from studio.registry.locate import hf_cache_dirs

OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
MAX_FOUND = 500  # a picked folder could be a whole disk: stop somewhere


@dataclass(frozen=True)
class FoundGGUF:
    """One GGUF on disk and where it was found (``ollama``, ``lmstudio``, ``hf-cache``,
    ``folder``), with the name that place gives it."""

    path: Path
    source: str
    name: str


def ollama_root() -> Path:
    override = os.environ.get("OLLAMA_MODELS")
    return Path(override) if override else Path.home() / ".ollama" / "models"


def lmstudio_roots() -> list[Path]:
    home = Path.home()
    return [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]


def scan_ollama(root: Path | None = None) -> list[FoundGGUF]:
    """The GGUF blob of every ``name:tag`` in Ollama's manifests."""
    root = root or ollama_root()
    manifests = root / "manifests"
    found = []
    for manifest in sorted(p for p in manifests.rglob("*") if p.is_file()):
        try:
            layers = json.loads(manifest.read_text(encoding="utf-8")).get("layers", [])
        except (OSError, ValueError, AttributeError):
            continue  # not a manifest (or half written): nothing to offer from it
        for layer in layers:
            digest = str(layer.get("digest", "")) if isinstance(layer, dict) else ""
            if layer.get("mediaType") == OLLAMA_MODEL_LAYER and digest.startswith("sha256:"):
                blob = root / "blobs" / digest.replace(":", "-")
                if blob.is_file():
                    parts = manifest.relative_to(manifests).parts
                    found.append(FoundGGUF(blob, "ollama", f"{parts[-2]}:{parts[-1]}"))
    return found


def scan_folder(folder: Path, source: str = "folder") -> list[FoundGGUF]:
    """Every ``*.gguf`` under ``folder`` (adapter-only and split parts after the first are
    left out: they are not models on their own)."""
    found: list[FoundGGUF] = []
    if not folder.is_dir():
        return found
    for path in sorted(folder.rglob("*.gguf")):
        name = path.name.lower()
        if "mmproj" in name or ("-of-" in name and "-00001-of-" not in name):
            continue
        found.append(FoundGGUF(path, source, path.stem))
        if len(found) >= MAX_FOUND:
            break
    return found


def scan_hf_cache() -> list[FoundGGUF]:
    found = []
    for cache in hf_cache_dirs():
        for repo in sorted(cache.glob("models--*")):
            hub_id = repo.name.removeprefix("models--").replace("--", "/")
            found += [FoundGGUF(f.path, "hf-cache", f"{hub_id}/{f.path.name}")
                      for f in scan_folder(repo / "snapshots", "hf-cache")]
    return found


def scan_all(extra: list[Path] | None = None) -> list[FoundGGUF]:
    """Everything found in the usual places and in ``extra`` folders, each file once."""
    found = scan_ollama()
    for root in lmstudio_roots():
        found += scan_folder(root, "lmstudio")
    found += scan_hf_cache()
    for folder in extra or []:
        found += scan_folder(folder)
    seen: set[Path] = set()
    unique = []
    for item in found:
        key = item.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
