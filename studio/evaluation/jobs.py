"""Eval runs: the job config the eval backend reads, the run/result rows it writes, and the
liveness check that turns a crashed run (process gone, no last event) into a failed one."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.db.records import now_iso
from studio.db.store import Store
from studio.errors import NotFoundError
from studio.evaluation.report import Result
from studio.events import read_outcome_events
from studio.jobs.launch import crash_report, job_alive, stop_requested

EVAL_MODULE = "eval"


@dataclass
class EvalConfig:
    db: str = field(metadata={"help": "absolute path of the studio database"})
    set_name: str = field(metadata={"help": "the eval set to run"})
    model_id: str = field(metadata={"help": "registered model id the results are filed under"})
    model_path: str = field(metadata={
        "help": "absolute path of the model: a GGUF file (llama.cpp) or an HF folder"})
    adapter_path: str | None = field(default=None, metadata={
        "help": "absolute path of an adapter: a LoRA GGUF (llama.cpp) or a PEFT folder"})
    engine: str = field(default="transformers", metadata={
        "help": "llama.cpp (where a GGUF of the model exists) or transformers"})
    max_new_tokens: int = field(
        default=128, metadata={"help": "longest answer generated per prompt (greedy)"})
    seed: int = field(default=0, metadata={"help": "random seed (answers are greedy anyway)"})
    n_ctx: int = field(default=2048, metadata={"help": "llama.cpp context window"})
    threads: int = field(default=0, metadata={"help": "llama.cpp CPU threads (0: all cores)"})
    run_id: int | None = field(
        default=None, metadata={"help": "an existing eval run to resume; new run when empty"})
    grader_time_s: float = field(default=10.0, metadata={
        "help": "time limit per answer for the grader; past it the answer scores 0, the run"
        " goes on"})


@dataclass(frozen=True)
class EvalRun:
    id: int
    set_id: int
    model_id: str
    status: str
    created_at: str
    engine: str | None
    job_dir: str | None
    error: str | None


def start_run(store: Store, set_id: int, model_id: str) -> int:
    with store.atomic():
        cursor = store.db.execute(
            "INSERT INTO eval_runs (set_id, model_id, created_at, status) VALUES (?, ?, ?, ?)",
            [set_id, model_id, now_iso(), "running"])
    return int(cursor.lastrowid or 0)


def attach_run(store: Store, run_id: int, engine: str, job_dir: Path) -> None:
    """The eval process took the run over (new or resumed): it is running in ``job_dir``."""
    with store.atomic():
        store.db.execute(
            "UPDATE eval_runs SET status = 'running', engine = ?, job_dir = ?, error = NULL,"
            " finished_at = NULL WHERE id = ?", [engine, str(job_dir), run_id])


def set_status(store: Store, run_id: int, status: str, error: str | None = None) -> None:
    with store.atomic():
        store.db.execute("UPDATE eval_runs SET status = ?, error = ?, finished_at = ?"
                         " WHERE id = ?", [status, error, now_iso(), run_id])


def save_result(store: Store, run_id: int, prompt_id: int, response: str, score: float,
                reason: str, grader: str | None = None, machine_made: bool = False) -> None:
    with store.atomic():
        store.db.execute(
            "INSERT OR REPLACE INTO eval_results (run_id, prompt_id, response, score, reason,"
            " grader, machine_made) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run_id, prompt_id, response, score, reason, grader, int(machine_made)])


def done_prompt_ids(store: Store, run_id: int) -> set[int]:
    rows = store.db.execute("SELECT prompt_id FROM eval_results WHERE run_id = ?", [run_id])
    return {int(r[0]) for r in rows}


def run_results(store: Store, run_id: int) -> list[Result]:
    """A run's results as report rows (keyed by prompt id, for before/after pairing)."""
    rows = store.db.execute(
        "SELECT r.prompt_id, p.text, r.response, r.score FROM eval_results r JOIN prompts p"
        " ON p.id = r.prompt_id WHERE r.run_id = ? ORDER BY r.prompt_id", [run_id]).fetchall()
    return [Result(str(pid), text, response, score >= 0.5)
            for pid, text, response, score in rows]


def result_details(store: Store, run_id: int) -> dict[str, dict[str, Any]]:
    """Per prompt id: score, reason, the grader that scored it and whether it was machine-made."""
    rows = store.db.execute("SELECT prompt_id, score, reason, grader, machine_made FROM"
                            " eval_results WHERE run_id = ?", [run_id]).fetchall()
    return {str(pid): {"score": score, "reason": reason, "grader": grader,
                       "machine_made": bool(machine)}
            for pid, score, reason, grader, machine in rows}


def get_eval_run(store: Store, run_id: int) -> EvalRun:
    row = store.db.execute(
        "SELECT id, set_id, model_id, status, created_at, engine, job_dir, error FROM eval_runs"
        " WHERE id = ?", [run_id]).fetchone()
    if row is None:
        raise NotFoundError(f"no eval run {run_id}")
    return EvalRun(int(row[0]), int(row[1]), *row[2:])


def latest_run(store: Store, set_id: int, model_id: str, status: str = "completed",
               engine: str | None = None) -> int | None:
    sql = "SELECT id FROM eval_runs WHERE set_id = ? AND model_id = ? AND status = ?"
    params: list[Any] = [set_id, model_id, status]
    if engine is not None:
        # Runs recorded before the engine was (engine NULL) all answered through transformers.
        sql += " AND (engine = ? OR (engine IS NULL AND ? = 'transformers'))"
        params += [engine, engine]
    row = store.db.execute(sql + " ORDER BY id DESC LIMIT 1", params).fetchone()
    return None if row is None else int(row[0])


def parent_run(store: Store, set_id: int, parent_id: str, engine: str | None) -> int | None:
    """The parent's run to compare a model's run with: the latest with the same engine (so
    the engine is not mixed up with the training), else its latest."""
    same = latest_run(store, set_id, parent_id, engine=engine) if engine else None
    return same if same is not None else latest_run(store, set_id, parent_id)


def unfinished_run(store: Store, set_id: int, model_id: str) -> int | None:
    """The latest run of this set on this model that stopped part-way: eval resumes it."""
    row = store.db.execute(
        "SELECT id FROM eval_runs WHERE set_id = ? AND model_id = ? AND status != 'completed'"
        " ORDER BY id DESC LIMIT 1", [set_id, model_id]).fetchone()
    return None if row is None else int(row[0])


def sync_eval_run(store: Store, run_id: int) -> EvalRun:
    """Reconcile a 'running' row with its job: a process that is gone without a last event
    crashed or was killed, so the run becomes failed with its log's tail (resume still works:
    the prompts it finished are kept)."""
    run = get_eval_run(store, run_id)
    if run.status != "running" or (run.job_dir and job_alive(Path(run.job_dir))):
        return run
    job_dir = Path(run.job_dir) if run.job_dir else None
    events = read_outcome_events(job_dir / "events.jsonl") if job_dir else []
    last = events[-1] if events and events[-1].is_terminal else None
    if last is not None and last.event == "finished":
        set_status(store, run_id, "completed")
    elif last is not None:
        set_status(store, run_id, "cancelled" if last.event == "cancelled" else "failed",
                   last.get("message"))
    elif job_dir is not None and stop_requested(job_dir):
        # Stopped on request, then killed before it could say so: a cancel all the same.
        set_status(store, run_id, "cancelled")
    else:
        cause = crash_report(job_dir, EVAL_MODULE, *_db_file(store)) if job_dir else ""
        set_status(store, run_id, "failed",
                   "the eval process stopped without reporting (killed or crashed); running"
                   " it again resumes with the prompts not done yet." +
                   (f"\n{cause}" if cause else ""))
    return get_eval_run(store, run_id)


def _db_file(store: Store) -> list[Path]:
    """The database's file (its disk may be the full one), none for an in-memory store."""
    row = store.db.execute("PRAGMA database_list").fetchone()
    return [Path(row[2])] if row and row[2] else []


def sync_eval_runs(store: Store) -> list[EvalRun]:
    """Sync every run the database calls running; returns those that are still running."""
    ids = [int(r[0]) for r in store.db.execute("SELECT id FROM eval_runs WHERE status ="
                                               " 'running'").fetchall()]
    return [run for run in (sync_eval_run(store, i) for i in ids) if run.status == "running"]
