"""Bring a bundle's run back: a run row, its events and checkpoints, its adapter as a model.

The bundle's ``run/`` folder is copied into the data folder's ``runs/`` under a new run id, so
the Train page plots it from its ``events.jsonl`` like a local run. A finished run registers
its adapter under the base model the bundle was made from (its lineage); a partial one (no
``finished`` event) is kept as cancelled, with its checkpoints, so it can be resumed here.

A bundle is untrusted input (see :mod:`studio.training.bundle_files`). The import is all or
nothing: the files are copied into a hidden folder inside ``runs/``, checked there (events,
config, the adapter's and checkpoints' weights), moved into place with one rename, and
registered in one transaction; a refusal at any point leaves nothing behind.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from studio.db.records import now_iso
from studio.db.store import Store
from studio.errors import DiskFullError, NotFoundError, StudioError, printable
from studio.events import Event, EventFormatError, read_outcome_events
from studio.paths import DataPaths
from studio.registry.locate import hf_cache_snapshot, is_hub_id
from studio.registry.models import add_base_model, get_model
from studio.registry.safety import UnsafeModelError, check_model_folder
from studio.training.bundle import read_bundle
from studio.training.bundle_files import (
    MAX_JSON_BYTES,
    BundleError,
    Entry,
    check_space,
    copy_tree,
    scan_tree,
)
from studio.training.config import ConfigError, TrainConfig
from studio.training.runs import Run, RunDir, complete_run, get_run, new_run_id

MAX_EVENTS_BYTES = 512 * 2**20  # a long run writes a few MB; more is not an events file


def import_bundle(store: Store, paths: DataPaths, folder: Path) -> Run:
    """Register the run of bundle ``folder``; returns the new run."""
    info, source = read_bundle(folder)
    _check_parent(store, info)  # refuse an unknown or unsafe base model before copying
    entries = scan_tree(source.path, f"{Path(folder).name}/run")
    paths.runs.mkdir(parents=True, exist_ok=True)
    check_space(paths.runs, entries)
    target = RunDir(_inside(paths.runs, new_run_id(str(info["method"])) + "-imported"))
    staging = Path(tempfile.mkdtemp(prefix=".import-", suffix=".partial", dir=paths.runs))
    try:
        copy_tree(source.path, [e for e in entries if not _pid_file(e)], staging,
                  source.path.name)
        events, config = _checked(RunDir(staging), target, info, paths.db)
        os.rename(staging, target.path)  # the run appears whole, or not at all
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            raise DiskFullError.at(paths.runs, "importing the bundle") from error
        raise
    try:
        return _register(store, info, target, events, config)
    except BaseException:
        shutil.rmtree(target.path, ignore_errors=True)
        raise


def _pid_file(entry: Entry) -> bool:
    """The training machine's pid files mean nothing here (and would look alive by chance)."""
    name = entry.relative.name
    return not entry.is_dir and (name == "pid" or name.endswith(".pid"))


def _inside(root: Path, name: str) -> Path:
    """``root/name``, refused unless it stays inside ``root`` (a belt to read_bundle's braces)."""
    path = (root / name).resolve()
    if path.parent != root.resolve():
        raise BundleError(f"{name}: a run folder must stay inside {root}")
    return path


def _checked(staged: RunDir, target: RunDir, info: dict[str, Any], db: Path
             ) -> tuple[list[Event], TrainConfig]:
    """The copied run's events and config (pointed at ``target`` and at this data folder's
    database, whose run list it joins), checked in the copy."""
    if not staged.events.is_file():
        raise BundleError("the bundle's run/events.jsonl is missing: the run never started")
    if staged.events.stat().st_size > MAX_EVENTS_BYTES:
        raise BundleError(f"the bundle's run/events.jsonl is over {MAX_EVENTS_BYTES // 2**20}"
                          " MB: not an events file")
    if staged.config.stat().st_size > MAX_JSON_BYTES:
        raise BundleError(f"the bundle's run/config.json is over {MAX_JSON_BYTES // 2**20} MB:"
                          " not a training config")
    try:
        events = read_outcome_events(staged.events)
        config = TrainConfig.load(staged.config)
    except (EventFormatError, ConfigError) as error:
        raise BundleError(f"the bundle's run folder: {error}; nothing was imported") from None
    if not events:
        raise BundleError("the bundle's run/events.jsonl has no events: the run never started")
    if config.method != info["method"]:
        raise BundleError(f"bundle.json says method {info['method']!r} but run/config.json"
                          f" says {config.method!r}; nothing was imported")
    for folder, what in [(staged.adapter, "adapter"),
                         *((c, "checkpoint") for c in sorted(staged.checkpoints.glob("*")))]:
        try:
            check_model_folder(folder, what)
        except UnsafeModelError as error:
            raise BundleError(f"the bundle's {what}: {error}; nothing was imported") from None
    config = TrainConfig.from_dict({**config.to_dict(), "snapshot_dir": str(target.snapshot),
                                    "db": str(db.resolve())})
    config.save(staged.config)
    return events, config


def _register(store: Store, info: dict[str, Any], target: RunDir, events: list[Event],
              config: TrainConfig) -> Run:
    """The run row (and the adapter, when finished) in one transaction."""
    run_id = target.path.name
    last = events[-1]
    status = {"finished": "completed", "failed": "failed"}.get(last.event, "cancelled")
    with store.atomic():
        parent_id = _parent_model(store, info)
        store.db.table("runs").insert({
            "id": run_id, "method": config.method, "status": "running" if status ==
            "completed" else status, "config": json.dumps(config.to_dict()),
            "run_dir": str(target.path), "snapshot_id": _known_snapshot(store, info),
            "base_model": info.get("base_model"), "parent_model_id": parent_id,
            "metrics": json.dumps(_last_metrics(events)), "created_at": now_iso(),
            "started_at": _iso(events[0]), "finished_at": now_iso(),
            "error": printable(str(last.get("message")))[:2000] if status == "failed"
            else None,
        })
        run = get_run(store, run_id)
        if status == "completed":
            run = complete_run(store, run, _finished(last, target))
    return run


def _finished(last: Event, target: RunDir) -> Event:
    """The bundle's ``finished`` event with only the fields complete_run reads, each of the
    type it expects, and the adapter where it is now (the bundle's path means nothing here)."""
    metrics = last.get("metrics")
    fields: dict[str, Any] = {
        "adapter": str(target.adapter),
        "metrics": {str(k): v for k, v in metrics.items() if _number(v)}
        if isinstance(metrics, dict) else {}}
    for key in ("wall_s", "tokens_per_s", "step"):
        fields[key] = last.get(key) if _number(last.get(key)) else None
    return Event(event="finished", t=last.t, v=last.v, fields=fields)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _known_parent(store: Store, info: dict[str, Any]) -> str | None:
    parent = info.get("parent_model_id")
    if isinstance(parent, str):
        try:
            return get_model(store, parent).id
        except NotFoundError:
            pass  # written by another data folder: fall back to the base model it names
    return None


def _check_parent(store: Store, info: dict[str, Any]) -> None:
    """Refuse, writing nothing, a base model that cannot be registered here as the same input
    given to ``add-model`` could: a folder is checked for custom code and pickle weights; a
    hub id must be on this machine already (``add-model`` downloads and checks it), since an
    id that is not cannot be checked (and offline, not even known to exist)."""
    if _known_parent(store, info) is not None:
        return
    base = info.get("base_model")
    if not isinstance(base, str) or not base:
        raise BundleError("bundle.json, field 'base_model': missing; cannot tell the lineage")
    if is_hub_id(base):
        cached = hf_cache_snapshot(base)
        if cached is None:
            raise BundleError(
                f"bundle.json, field 'base_model': the hub model {base} is not on this machine,"
                f" so it cannot be checked; add it first with 'tuning-studio add-model {base}'"
                " (it downloads and checks it), then import the bundle again")
        local = cached
    else:
        local = Path(base)
        if not local.is_absolute() or not local.is_dir():
            raise BundleError(f"bundle.json, field 'base_model': {base} is not a model folder"
                              " on this machine; add the base model, then import again")
    try:
        check_model_folder(local)
    except UnsafeModelError as error:
        raise BundleError(f"bundle.json, field 'base_model': {error}") from None


def _parent_model(store: Store, info: dict[str, Any]) -> str:
    """The model the bundle was made from: its registry entry here, else the base it names."""
    known = _known_parent(store, info)
    if known is not None:
        return known
    base = str(info.get("base_model"))
    try:
        return add_base_model(store, base).id
    except StudioError as error:
        raise BundleError(f"bundle.json, field 'base_model': {base} is not registered here and"
                          f" cannot be added ({error})") from None


def _known_snapshot(store: Store, info: dict[str, Any]) -> str | None:
    snapshot = info.get("snapshot_id")
    if not snapshot:
        return None
    row = store.db.execute("SELECT 1 FROM snapshots WHERE id = ?", [snapshot]).fetchone()
    return str(snapshot) if row else None


def _last_metrics(events: list[Event]) -> dict[str, Any]:
    steps = [e for e in events if e.event in {"step", "eval"}]
    return {k: v for e in steps for k, v in e.fields.items() if isinstance(v, (int, float))}


def _iso(event: Event) -> str:
    try:
        return datetime.fromtimestamp(event.t, timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return now_iso()  # a time no clock gives (NaN, year 10^12): when it was imported
