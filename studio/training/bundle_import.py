"""Bring a bundle's run back: a run row, its events and checkpoints, its adapter as a model.

The bundle's ``run/`` folder is copied into the data folder's ``runs/`` under a new run id, so
the Train page plots it from its ``events.jsonl`` like a local run. A finished run registers
its adapter under the base model the bundle was made from (its lineage); a partial one (no
``finished`` event) is kept as cancelled, with its checkpoints, so it can be resumed here.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from studio.errors import NotFoundError, StudioError
from studio.events import Event, read_events
from studio.labels.records import now_iso
from studio.labels.store import Store
from studio.paths import DataPaths
from studio.registry.models import add_base_model, get_model
from studio.training.bundle import BundleError, read_bundle
from studio.training.config import TrainConfig
from studio.training.runs import Run, RunDir, complete_run, get_run, new_run_id


def import_bundle(store: Store, paths: DataPaths, folder: Path) -> Run:
    """Register the run of bundle ``folder``; returns the new run."""
    info, source = read_bundle(folder)
    events = read_events(source.events) if source.events.is_file() else []
    if not events:
        raise BundleError(f"{source.events} has no events: the bundle's run never started")
    parent_id = _parent_model(store, info)
    run_id = new_run_id(str(info["method"])) + "-imported"
    target = RunDir(paths.runs / run_id)
    shutil.copytree(source.path, target.path, ignore=shutil.ignore_patterns("*.pid", "pid"))
    config = TrainConfig.load(target.config)
    config = TrainConfig.from_dict({**config.to_dict(), "snapshot_dir": str(target.snapshot)})
    config.save(target.config)
    last = events[-1]
    status = "completed" if last.event == "finished" else \
        ("failed" if last.event == "failed" else "cancelled")
    with store.atomic():
        store.db.table("runs").insert({
            "id": run_id, "method": info["method"], "status": "running" if status ==
            "completed" else status, "config": json.dumps(config.to_dict()),
            "run_dir": str(target.path), "snapshot_id": _known_snapshot(store, info),
            "base_model": info.get("base_model"), "parent_model_id": parent_id,
            "metrics": json.dumps(_last_metrics(events)), "created_at": now_iso(),
            "started_at": _iso(events[0]), "finished_at": now_iso(),
            "error": last.get("message") if status == "failed" else None,
        })
    run = get_run(store, run_id)
    if status == "completed":
        finished = Event(event=last.event, t=last.t, v=last.v,
                         fields={**last.fields, "adapter": str(target.adapter)})
        run = complete_run(store, run, finished)
    return run


def _parent_model(store: Store, info: dict[str, Any]) -> str:
    """The model the bundle was made from: its registry entry here, else the base it names."""
    parent = info.get("parent_model_id")
    if isinstance(parent, str):
        try:
            return get_model(store, parent).id
        except NotFoundError:
            pass  # written by another data folder: fall back to the base model it names
    base = info.get("base_model")
    if not isinstance(base, str) or not base:
        raise BundleError("bundle.json, field 'base_model': missing; cannot tell the lineage")
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
    return datetime.fromtimestamp(event.t, timezone.utc).isoformat(timespec="seconds")
