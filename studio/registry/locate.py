"""Where a model named by the user lives: a local folder, or a hub id in the Hugging Face cache.

The one place that knows the hub-id pattern and the cache layout, so the registry, pre-flight
and the download job agree on what "already downloaded" means.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# owner/name, as the hub spells repository ids (a dataset id has the same shape).
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def hf_cache_dirs() -> list[Path]:
    """The Hugging Face hub cache folders to look in, honouring HF_HUB_CACHE and HF_HOME."""
    hub = os.environ.get("HF_HUB_CACHE")
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface"))
    return [Path(hub)] if hub else [home / "hub"]


def is_hub_id(text: str) -> bool:
    """True when ``text`` looks like ``owner/name`` and is not an existing local path."""
    return bool(HUB_ID.match(text)) and not Path(text).expanduser().exists()


def hf_cache_snapshot(hub_id: str) -> Path | None:
    """The newest local snapshot of ``hub_id`` in the Hugging Face cache, if there is one."""
    for cache in hf_cache_dirs():
        snapshots = cache / ("models--" + hub_id.replace("/", "--")) / "snapshots"
        found = sorted(snapshots.glob("*/config.json"), key=lambda p: p.stat().st_mtime)
        if found:
            return found[-1].parent
    return None


def resolve_model_dir(model: str) -> Path | None:
    """The local folder of a model: the path itself, or a hub id's snapshot in the HF cache."""
    path = Path(model).expanduser()
    if path.exists() or model.startswith((".", "/", "~")) or model.count("/") > 1:
        return path
    return hf_cache_snapshot(model)
