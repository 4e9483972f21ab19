"""Download a model from the Hugging Face hub into the local HF cache, with progress events.

    python -m backends.fetch_model --job-dir DIR

``DIR/config.json`` holds ``{"hub_id": ..., "revision": null}``. Only what training, export
and chat need is fetched (config, safetensors weights, tokenizer files, chat template).
``progress`` events carry bytes done/total; ``finished`` gives the snapshot folder and the id
of the base model registered for it (``studio.registry.locate.resolve_model_dir`` also finds
it by the hub id). Offline, or for an unknown id, a ``failed`` event says so in plain words.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.lib.jobs import StopFlag, make_job_parser, run_store_job
from studio.db.store import Store
from studio.errors import StudioError
from studio.events import EventWriter
from studio.jobs.config import load_config
from studio.registry.hub import FetchConfig
from studio.registry.models import add_base_model
from studio.registry.safety import UnsafeModelError, check_model_folder

MODEL_FILES = ["*.json", "*.safetensors", "tokenizer.model", "*.tiktoken", "*.txt", "*.jinja"]
EMIT_EVERY_S = 0.5  # enough for a smooth progress bar without flooding the pipe


class FetchError(StudioError):
    """The model could not be downloaded (offline, unknown id)."""


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser(__doc__.splitlines()[0])


@dataclass
class _Progress:
    """The bytes downloaded so far and when the last progress event went out."""

    done: int = 0
    last: float = 0.0
    start: float = field(default_factory=time.monotonic)


def progress_bar_class(events: EventWriter, total: int) -> type:
    """A tqdm class that turns the download's byte counts into throttled progress events."""
    from tqdm.auto import tqdm

    state = _Progress()

    class EventProgress(tqdm):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # Byte bars only: the file-count bar of snapshot_download is not progress.
            self.counts_bytes = kwargs.get("unit") == "B"
            kwargs["disable"] = True  # no terminal bar: the events are the progress
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            if self.counts_bytes:
                state.done += int(n or 0)
                now = time.monotonic()
                if now - state.last >= EMIT_EVERY_S:
                    state.last = now
                    _emit_progress(events, state.done, total, now - state.start)
            return super().update(n)

    return EventProgress


def _emit_progress(events: EventWriter, done: int, total: int, elapsed: float) -> None:
    rate = done / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if rate > 0 and total > done else 0.0
    # done/total in MiB: progress bars hold 32-bit ints, and weights can exceed 2 GiB
    events.emit("progress", stage="download", done=done // 2**20, total=total // 2**20,
                eta_s=round(eta, 1), message=f"{done / 2**20:.0f} of {total / 2**20:.0f} MiB")


def fetch(hub_id: str, revision: str | None, events: EventWriter) -> Path:
    from huggingface_hub import HfApi, snapshot_download

    info = HfApi().model_info(hub_id, revision=revision, files_metadata=True)
    names = [s.rfilename for s in info.siblings or []]
    if not any(n.endswith(".safetensors") for n in names) and any(
            n.endswith((".bin", ".pt", ".pth")) for n in names):
        raise UnsafeModelError(f"'{hub_id}' has only pickle weights, which can run code;"
                               " pick a model published as safetensors")
    wanted = [s for s in info.siblings or [] if _wanted(s.rfilename)]
    total = sum(s.size or 0 for s in wanted)
    events.emit("progress", stage="download", done=0, total=total // 2**20,
                message=f"{len(wanted)} files, {total / 2**20:.0f} MiB")
    folder = snapshot_download(hub_id, revision=revision, allow_patterns=MODEL_FILES,
                               tqdm_class=progress_bar_class(events, total))
    return Path(folder)


def _wanted(name: str) -> bool:
    from fnmatch import fnmatch

    return "/" not in name and any(fnmatch(name, pattern) for pattern in MODEL_FILES)


def _transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP client's own connection errors (huggingface_hub does not wrap them all)."""
    import importlib

    found: list[type[BaseException]] = []
    for module in ("httpx2", "httpx"):
        try:
            found.append(importlib.import_module(module).HTTPError)
        except (ImportError, AttributeError):
            continue  # that client is not the one installed
    return tuple(found)


def fetch_or_explain(hub_id: str, revision: str | None, events: EventWriter) -> Path:
    """:func:`fetch`, with every way it can fail turned into a :class:`FetchError` in words."""
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
    )

    unreachable: tuple[type[BaseException], ...] = (
        LocalEntryNotFoundError, OfflineModeIsEnabled, OSError, HfHubHTTPError,
        *_transport_errors())
    try:
        return fetch(hub_id, revision, events)
    except RepositoryNotFoundError as error:
        raise FetchError(f"'{hub_id}' is not a model on the Hugging Face hub (or it is"
                         " private: log in with `hf auth login`)") from error
    except unreachable as error:
        raise FetchError(f"cannot download '{hub_id}': the Hugging Face hub is not"
                         f" reachable ({type(error).__name__}). Connect to the internet, or"
                         " pick a local model folder instead.") from error


def work(job_dir: Path, store: Store, events: EventWriter, flag: StopFlag) -> None:
    config = load_config(FetchConfig, job_dir)
    start = time.monotonic()
    folder = fetch_or_explain(config.hub_id, config.revision, events)
    check_model_folder(folder)  # a config whose auto_map names code is refused, not registered
    entry = add_base_model(store, config.hub_id)
    events.emit("finished", path=str(folder), hub_id=config.hub_id, model_id=entry.id,
                wall_s=round(time.monotonic() - start, 1))


def main(args: argparse.Namespace) -> int:
    return run_store_job(args, "fetch", work)


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
