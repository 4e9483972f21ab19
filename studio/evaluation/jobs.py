"""Eval runs: the job config the eval backend reads, and the run/result rows it writes."""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.evaluation.report import Result
from studio.labels.records import now_iso
from studio.labels.store import Store


@dataclass
class EvalConfig:
    db: str = field(metadata={"help": "absolute path of the studio database"})
    set_name: str = field(metadata={"help": "the eval set to run"})
    model_id: str = field(metadata={"help": "registered model id the results are filed under"})
    model_path: str = field(metadata={"help": "absolute path of the base model folder"})
    adapter_path: str | None = field(
        default=None, metadata={"help": "absolute path of a PEFT adapter on the base, if any"})
    max_new_tokens: int = field(
        default=128, metadata={"help": "longest answer generated per prompt (greedy)"})
    run_id: int | None = field(
        default=None, metadata={"help": "an existing eval run to resume; new run when empty"})


def start_run(store: Store, set_id: int, model_id: str) -> int:
    with store.atomic():
        cursor = store.db.execute(
            "INSERT INTO eval_runs (set_id, model_id, created_at, status) VALUES (?, ?, ?, ?)",
            [set_id, model_id, now_iso(), "running"])
    return int(cursor.lastrowid or 0)


def set_status(store: Store, run_id: int, status: str) -> None:
    with store.atomic():
        store.db.execute("UPDATE eval_runs SET status = ? WHERE id = ?", [status, run_id])


def save_result(store: Store, run_id: int, prompt_id: int, response: str, score: float,
                reason: str) -> None:
    with store.atomic():
        store.db.execute(
            "INSERT OR REPLACE INTO eval_results (run_id, prompt_id, response, score, reason)"
            " VALUES (?, ?, ?, ?, ?)", [run_id, prompt_id, response, score, reason])


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


def latest_run(store: Store, set_id: int, model_id: str, status: str = "completed"
               ) -> int | None:
    row = store.db.execute(
        "SELECT id FROM eval_runs WHERE set_id = ? AND model_id = ? AND status = ?"
        " ORDER BY id DESC LIMIT 1", [set_id, model_id, status]).fetchone()
    return None if row is None else int(row[0])


def unfinished_run(store: Store, set_id: int, model_id: str) -> int | None:
    """The latest run of this set on this model that stopped part-way: eval resumes it."""
    row = store.db.execute(
        "SELECT id FROM eval_runs WHERE set_id = ? AND model_id = ? AND status != 'completed'"
        " ORDER BY id DESC LIMIT 1", [set_id, model_id]).fetchone()
    return None if row is None else int(row[0])
