"""Models fetched from the Hugging Face hub: the job config and when a download is needed."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from studio.jobs.config import save_config
from studio.registry.locate import is_hub_id, resolve_model_dir


@dataclass
class FetchConfig:
    hub_id: str = field(metadata={"help": "Model id on the hub, e.g. Qwen/Qwen2.5-0.5B-Instruct."})
    revision: str | None = field(default=None, metadata={
        "help": "Branch, tag or commit (default: main)."})


def needs_download(text: str) -> bool:
    """A hub id (owner/name) that is neither a local folder nor in the HF cache."""
    text = text.strip()
    return is_hub_id(text) and resolve_model_dir(text) is None


def create_fetch_job(jobs_dir: Path, hub_id: str, revision: str | None = None) -> Path:
    folder = jobs_dir / f"fetch-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    folder.mkdir(parents=True)
    save_config(FetchConfig(hub_id.strip(), revision), folder)
    return folder
