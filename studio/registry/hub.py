"""Models fetched from the Hugging Face hub: the job config and when a download is needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.jobs.launch import write_job
from studio.registry.locate import is_hub_id, resolve_model_dir


@dataclass
class FetchConfig:
    hub_id: str = field(metadata={"help": "Model id on the hub, e.g. Qwen/Qwen2.5-0.5B-Instruct."})
    revision: str | None = field(default=None, metadata={
        "help": "Branch, tag or commit (default: main)."})
    db: str = field(default="", metadata={
        "help": "The studio database the fetched model is registered in (an absolute path)."})


def needs_download(text: str) -> bool:
    """A hub id (owner/name) that is neither a local folder nor in the HF cache."""
    text = text.strip()
    return is_hub_id(text) and resolve_model_dir(text) is None


def create_fetch_job(jobs_dir: Path, hub_id: str, db: Path,
                     revision: str | None = None) -> Path:
    """A job folder for ``backends.fetch_model``; the model is registered in ``db``."""
    return write_job(FetchConfig(hub_id.strip(), revision, str(Path(db).resolve())),
                     jobs_dir, "fetch")
