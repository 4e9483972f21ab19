"""The run list: training runs in the ``runs`` table, their folders, and the queue.

A run folder (``<data>/runs/<id>/``) is the protocol between the app and the training process:

    config.json      the TrainConfig, written before launch
    snapshot/        frozen copy of the dataset snapshot (labeling may go on meanwhile)
    events.jsonl     the JSON-lines events (studio.events), appended by the process
    checkpoints/     checkpoint-N folders for resuming (TRL's output_dir)
    adapter/         the finished PEFT adapter (or the full model for full fine-tuning)
    run.pid          {"pid": ..., "started": ...} of the live process
    train.log        stdout/stderr of the process: warnings and tracebacks
    stop             written by cancel (studio.jobs.launch.request_stop): checkpoint and stop

The run folder is the training job's folder: it starts as ``python -m backends.train --job-dir
<run folder>`` through :mod:`studio.jobs.launch`, like every other job, and its config.json
names the database (``db``) whose run list it updates.

The queue advances in one function, :func:`start_next`. Two sides call it: the app's use case
:func:`studio.app.training.advance_queue` (the Train page and the CLI, on launch, resume, and
when they see a run's process gone without its last word), and the training process itself as
it ends, which reaches the domain function directly because backends never import
``studio.app``. The process's call is what keeps the queue moving with no app open; the app's
covers a process killed before it could.

Status goes queued → running → completed | failed | cancelled; a cancelled or failed run with
a checkpoint can be resumed (queued again, same id and folder, same step numbering). The
database row is reconciled from the folder by :func:`sync_run`, so the app can close and
re-attach to a run at any time. One run trains at a time on a machine; the rest wait queued.
"""

from __future__ import annotations

import json
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from studio.db.records import now_iso
from studio.db.store import Store
from studio.errors import NotFoundError, StudioError
from studio.events import Event, read_outcome_events
from studio.jobs.launch import (
    clear_stop,
    job_command,
    process_alive,
    request_stop,
    spawn_detached,
)
from studio.paths import DataPaths
from studio.registry.models import add_adapter, add_base_model, get_model, tuned_name
from studio.training.config import TrainConfig

STATUSES = ("queued", "running", "completed", "failed", "cancelled")
RESUMABLE = frozenset({"failed", "cancelled"})
# A run claimed by the queue has this long to write its pid file before it counts as lost.
START_GRACE_S = 60.0
TRAIN_MODULE = "train"


class RunError(StudioError):
    """A run operation that is not possible now (resume a completed run, cancel a dead one)."""


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run folder."""

    path: Path

    @property
    def config(self) -> Path:
        return self.path / "config.json"

    @property
    def snapshot(self) -> Path:
        return self.path / "snapshot"

    @property
    def events(self) -> Path:
        return self.path / "events.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def adapter(self) -> Path:
        return self.path / "adapter"

    @property
    def pid_file(self) -> Path:
        return self.path / "run.pid"

    @property
    def log(self) -> Path:
        return self.path / "train.log"

    def latest_checkpoint(self) -> Path | None:
        found = [p for p in self.checkpoints.glob("checkpoint-*")
                 if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").exists()]
        return max(found, key=lambda p: int(p.name.split("-")[-1]), default=None)

    def write_pid(self, pid: int) -> None:
        self.pid_file.write_text(json.dumps({"pid": pid, "started": now_iso()}))

    def read_pid(self) -> int | None:
        try:
            return int(json.loads(self.pid_file.read_text())["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def is_alive(self) -> bool:
        """Whether the process in the pid file is running and is this run's (not a reused pid)."""
        return process_alive(self.read_pid(), self.path)

    def events_list(self) -> list[Event]:
        return read_outcome_events(self.events)  # what follows the outcome is ignored


@dataclass
class Run:
    id: str
    method: str
    status: str
    config: dict[str, Any]
    run_dir: Path
    snapshot_id: str | None = None
    base_model: str | None = None
    parent_model_id: str | None = None
    pid: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    created_at: str = ""
    started_at: str | None = None
    finished_at: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Run:
        return cls(id=row["id"], method=row["method"], status=row["status"],
                   config=json.loads(row["config"] or "{}"), run_dir=Path(row["run_dir"]),
                   snapshot_id=row["snapshot_id"], base_model=row["base_model"],
                   parent_model_id=row["parent_model_id"], pid=row["pid"],
                   metrics=json.loads(row["metrics"] or "{}"), error=row["error"],
                   created_at=row["created_at"], started_at=row["started_at"],
                   finished_at=row["finished_at"])

    @property
    def dir(self) -> RunDir:
        return RunDir(self.run_dir)

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.config)

    @property
    def resumable(self) -> bool:
        return self.status in RESUMABLE

    @property
    def offers_resume(self) -> bool:
        """Whether the app offers Resume: a run that failed before its first checkpoint (a
        device it cannot use, say) would only fail again the same way, from step 0."""
        return self.resumable and (self.status == "cancelled"
                                   or self.dir.latest_checkpoint() is not None)


def new_run_id(method: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{method}-{secrets.token_hex(2)}"


def create_run(store: Store, paths: DataPaths, config: TrainConfig,
               snapshot_dir: Path | str | None = None) -> Run:
    """Register a queued run: its folder with config.json and a frozen copy of the snapshot."""
    source = Path(snapshot_dir or config.snapshot_dir)
    manifest_path = source / "manifest.json"
    if not manifest_path.exists():
        raise NotFoundError(f"{source} is not a dataset snapshot (no manifest.json)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    run_id = new_run_id(config.method)
    folder = RunDir((paths.runs / run_id).resolve())  # absolute: the job runs elsewhere
    folder.path.mkdir(parents=True)
    shutil.copytree(source, folder.snapshot)
    # The job reads its database from config.json, like every other job (not from where the
    # run folder happens to lie).
    config = TrainConfig.from_dict({**config.to_dict(), "snapshot_dir": str(folder.snapshot),
                                    "db": str(paths.db.resolve())})
    config.save(folder.config)
    base = add_base_model(store, config.model)
    snapshot_id = manifest.get("id")
    known = store.db.execute("SELECT 1 FROM snapshots WHERE id = ?", [snapshot_id]).fetchone()
    with store.atomic():
        store.db.table("runs").insert({
            "id": run_id, "method": config.method, "status": "queued",
            "config": json.dumps(config.to_dict()), "run_dir": str(folder.path),
            "snapshot_id": snapshot_id if known else None, "base_model": config.model,
            "parent_model_id": base.id, "metrics": "{}", "created_at": now_iso(),
        })
    return get_run(store, run_id)


def get_run(store: Store, run_id: str) -> Run:
    rows = list(store.db.query("SELECT * FROM runs WHERE id = ?", [run_id]))
    if not rows:
        raise NotFoundError(f"there is no run with id {run_id}")
    return Run.from_row(rows[0])


def list_runs(store: Store, status: str | None = None) -> list[Run]:
    sql, params = "SELECT * FROM runs", []
    if status:
        sql, params = sql + " WHERE status = ?", [status]
    return [Run.from_row(r) for r in store.db.query(sql + " ORDER BY created_at DESC", params)]


def _update(store: Store, run_id: str, **values: Any) -> None:
    columns = ", ".join(f"{name} = ?" for name in values)
    with store.atomic():
        store.db.execute(f"UPDATE runs SET {columns} WHERE id = ?", [*values.values(), run_id])


def launch_command(run_dir: Path) -> list[str]:
    """The backend's argument list (never a shell line): the run folder is its job folder."""
    return job_command(TRAIN_MODULE, run_dir)


# Starts ``backends.<module>`` on a job folder detached and returns its pid (None when the
# launcher cannot tell: the process then writes its own pid file as its first act).
Launcher = Callable[[str, Path], int | None]


def claim_next(store: Store, run_id: str | None = None) -> Run | None:
    """Atomically mark a queued run running (the oldest, or ``run_id``) if no run is running.

    One statement, so two processes advancing the queue at once cannot both claim a run."""
    pick = "?" if run_id else "(SELECT id FROM runs WHERE status = 'queued'" \
        " ORDER BY created_at LIMIT 1)"
    with store.atomic():
        row = store.db.execute(
            "UPDATE runs SET status = 'running', started_at = ?, error = NULL, finished_at = NULL"
            f" WHERE id = {pick} AND status = 'queued'"
            " AND NOT EXISTS (SELECT 1 FROM runs WHERE status = 'running') RETURNING id",
            [now_iso(), run_id] if run_id else [now_iso()],
        ).fetchone()
    return get_run(store, row[0]) if row else None


def start_next(store: Store, paths: DataPaths, launcher: Launcher = spawn_detached,
               run_id: str | None = None) -> Run | None:
    """Advance the queue: record how the live runs ended, then launch the next queued run
    (the oldest, or ``run_id``) if the machine is free; returns it, or None.

    The one implementation of starting a queued run. The app's use case
    (:func:`studio.app.training.advance_queue`, which the Train page and the CLI call) wraps
    it, and the training process calls it as it ends, so the queue advances with no app open.
    """
    for live in list_runs(store, "running"):
        sync_run(store, live.id)
    run = claim_next(store, run_id)
    if run is None:
        return None
    pid = launcher(TRAIN_MODULE, run.run_dir)
    if pid:
        run.dir.write_pid(pid)
        _update(store, run.id, pid=pid)
    return get_run(store, run.id)


def resume_run(store: Store, run_id: str) -> Run:
    """Queue a cancelled or failed run again; it continues from its last checkpoint."""
    run = sync_run(store, run_id)
    if not run.resumable:
        raise RunError(f"run {run_id} is {run.status}; only cancelled or failed runs resume")
    clear_stop(run.run_dir)  # the cancel that stopped it must not stop the resumed run
    _update(store, run_id, status="queued", error=None, finished_at=None)
    return get_run(store, run_id)


def cancel_run(store: Store, run_id: str) -> Run:
    """Ask a running run to checkpoint and stop (the job's stop mechanism: the stop file, and
    SIGTERM where there are signals); a queued run is cancelled at once."""
    run = sync_run(store, run_id)
    if run.status == "queued":
        _update(store, run_id, status="cancelled", finished_at=now_iso())
    elif run.status == "running" and run.dir.is_alive():
        request_stop(run.run_dir, run.dir.read_pid())
    else:
        raise RunError(f"run {run_id} is {run.status}; there is nothing to cancel")
    return get_run(store, run_id)


def sync_run(store: Store, run_id: str) -> Run:
    """Reconcile the row with the folder: liveness, the last event, the registered adapter."""
    run = get_run(store, run_id)
    if run.status != "running" or run.dir.is_alive() or _still_starting(run):
        return run
    events = run.dir.events_list()
    last = events[-1] if events else None
    if last is not None and last.is_terminal:
        return record_outcome(store, run_id, last)
    _update(store, run_id, status="failed", pid=None, finished_at=now_iso(),
            error="the training process stopped without reporting (killed or crashed);"
            f" see {run.dir.log.name}. Resume continues from the last checkpoint.")
    return get_run(store, run_id)


def mark_started(store: Store, run_id: str, pid: int) -> None:
    """Called by the training process itself: it is alive with this pid."""
    run = get_run(store, run_id)
    _update(store, run_id, status="running", pid=pid, started_at=run.started_at or now_iso())


def record_outcome(store: Store, run_id: str, event: Event) -> Run:
    """Store what a terminal event (finished, failed, cancelled) says about the run."""
    if event.event == "finished":
        return complete_run(store, get_run(store, run_id), event)
    if event.event == "failed":
        _update(store, run_id, status="failed", error=event.get("message"),
                finished_at=now_iso(), pid=None)
    else:
        _update(store, run_id, status="cancelled", finished_at=now_iso(), pid=None)
    return get_run(store, run_id)


def _still_starting(run: Run) -> bool:
    if run.dir.pid_file.exists() or not run.started_at:
        return False
    started = datetime.fromisoformat(run.started_at)
    return (datetime.now(timezone.utc) - started).total_seconds() < START_GRACE_S


def complete_run(store: Store, run: Run, finished: Event) -> Run:
    """Record a finished run's metrics and register its adapter under the base model."""
    metrics = {**(finished.get("metrics") or {}), "wall_s": finished.get("wall_s"),
               "tokens_per_s": finished.get("tokens_per_s"), "step": finished.get("step")}
    _update(store, run.id, status="completed", metrics=json.dumps(metrics), pid=None,
            finished_at=now_iso(), error=None)
    adapter = Path(finished.get("adapter") or run.dir.adapter)
    meta = {"method": run.method, "snapshot_id": run.snapshot_id, "metrics": metrics}
    if (adapter / "adapter_config.json").exists() and run.parent_model_id:
        steps = f"{metrics['step']} steps" if metrics.get("step") else ""
        name = tuned_name(get_model(store, run.parent_model_id).name, run.method, now_iso(),
                          steps)
        add_adapter(store, adapter, run.parent_model_id, run_id=run.id, name=name, meta=meta)
    elif (adapter / "config.json").exists():
        # Full fine-tuning gives a whole model; the registry has no base -> full-model edge.
        add_base_model(store, adapter, name=f"{run.method.upper()} full {run.id}")
    return get_run(store, run.id)


def sync_all(store: Store) -> list[Run]:
    """Re-attach on start: reconcile every run that was running; returns the live ones."""
    return [r for r in (sync_run(store, run.id) for run in list_runs(store, "running"))
            if r.status == "running"]
