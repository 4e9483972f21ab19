"""Fetch a dataset from the Hugging Face hub into the cache, for import as local files."""

from __future__ import annotations

from pathlib import Path

from studio.errors import HubUnavailableError
from studio.paths import cache_dir

DATA_PATTERNS = ["*.parquet", "*.jsonl", "*.json", "*.csv", "**/*.parquet", "**/*.jsonl"]


def fetch_hub_dataset(repo_id: str) -> Path:
    """Download the data files of a hub dataset and return the folder holding the first one."""
    # huggingface_hub has no heavy dependencies; imported lazily as most imports are local.
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(
            repo_id, repo_type="dataset", allow_patterns=DATA_PATTERNS,
            cache_dir=str(cache_dir() / "hub"),
        ))
    except LocalEntryNotFoundError as error:
        raise HubUnavailableError(
            f"cannot reach the Hugging Face hub to fetch '{repo_id}' (offline?). Download the"
            " dataset where there is internet and import its folder or files instead."
        ) from error
    except (HfHubHTTPError, OSError, ValueError) as error:
        raise HubUnavailableError(f"could not fetch '{repo_id}' from the hub: {error}") from error
    files = sorted(
        p for p in folder.rglob("*")
        if p.suffix in {".parquet", ".jsonl", ".json", ".csv"} and "train" in p.name
    ) or sorted(p for p in folder.rglob("*") if p.suffix in {".parquet", ".jsonl", ".csv"})
    if not files:
        raise HubUnavailableError(f"'{repo_id}' has no parquet, jsonl or csv data files")
    return files[0]
