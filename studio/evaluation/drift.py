"""A check that needs no grader: how far a tuned model drifted from its parent on prompts it
never trained on (the general set's, and the user's own prompts in no training snapshot).

The parent answers each prompt greedily; the score is the mean, over those answer tokens, of
the KL divergence KL(parent || tuned) of the next-token distributions, in nats. It also keeps
the drop in the answers' mean log-likelihood under the tuned model. The job is
``python -m backends.drift --job-dir DIR`` (transformers + PEFT), the numbers land in the
``drift_scores`` table, and :func:`drift_words` says what they mean in plain words.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from studio.db.records import now_iso
from studio.db.store import Store
from studio.errors import StudioError
from studio.evaluation.engines import TRANSFORMERS, model_files
from studio.evaluation.general import drift_prompt_ids
from studio.events import Event
from studio.jobs.launch import log_tail, run_foreground, write_job
from studio.registry.models import get_model

DRIFT_MODULE = "drift"
# Thresholds in nats per token for the plain words. Where measured (bench/results/
# *-real-forgetting-sequence.txt, tests/test_harmful_run_flagged.py on SmolLM2-135M) a tune on
# a narrow task and a harmful one fell on either side of HIGH; LOW is a judgement call.
LOW, HIGH = 0.05, 0.3


class DriftError(StudioError):
    """A drift score that cannot be measured (no parent, no transformers files...)."""


@dataclass
class DriftConfig:
    db: str = field(metadata={"help": "absolute path of the studio database"})
    model_id: str = field(metadata={"help": "the tuned model whose drift is measured"})
    parent_id: str = field(metadata={"help": "the model it was tuned from"})
    model_path: str = field(metadata={"help": "HF folder of the tuned model (or its base)"})
    parent_path: str = field(metadata={"help": "HF folder of the parent (or its base)"})
    prompt_ids: list[int] = field(metadata={"help": "the untrained prompts to measure on"})
    adapter_path: str | None = field(default=None, metadata={
        "help": "PEFT adapter folder of the tuned model, if it is an adapter"})
    parent_adapter_path: str | None = field(default=None, metadata={
        "help": "PEFT adapter folder of the parent, if it is an adapter"})
    max_new_tokens: int = field(default=48, metadata={
        "help": "longest greedy answer of the parent per prompt"})
    seed: int = field(default=0, metadata={"help": "random seed (answers are greedy anyway)"})


@dataclass(frozen=True)
class Drift:
    model_id: str
    parent_id: str
    kl: float
    nll_drop: float
    n_prompts: int
    n_tokens: int
    per_prompt: dict[str, float]

    def words(self) -> str:
        return drift_words(self.kl)

    def text(self) -> str:
        return f"drift {self.kl:.3f} nats/token: {self.words()}"


def drift_words(kl: float) -> str:
    """The score in plain words, for the person deciding whether to ship."""
    if kl < LOW:
        return "answers on untrained topics barely changed"
    if kl < HIGH:
        return "answers on untrained topics changed somewhat"
    return "answers on untrained topics changed a lot"


def drift_config(store: Store, model_id: str, own_limit: int = 50) -> DriftConfig:
    """The job that measures ``model_id`` against its parent (both through transformers)."""
    entry = get_model(store, model_id)
    if not entry.parent_id:
        raise DriftError(f"{entry.name} is a base model: there is no parent to drift from")
    mine = model_files(store, model_id, TRANSFORMERS)
    parent = model_files(store, entry.parent_id, TRANSFORMERS)
    db = Path(store.db.execute("PRAGMA database_list").fetchone()[2]).resolve()
    return DriftConfig(db=str(db), model_id=entry.id, parent_id=entry.parent_id,
                       model_path=mine.model_path, adapter_path=mine.adapter_path,
                       parent_path=parent.model_path, parent_adapter_path=parent.adapter_path,
                       prompt_ids=drift_prompt_ids(store, own_limit))


def save_drift(store: Store, drift: Drift) -> None:
    with store.atomic():
        store.db.execute(
            "INSERT INTO drift_scores (model_id, parent_id, kl, nll_drop, n_prompts, n_tokens,"
            " per_prompt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [drift.model_id, drift.parent_id, drift.kl, drift.nll_drop, drift.n_prompts,
             drift.n_tokens, json.dumps(drift.per_prompt), now_iso()])


def latest_drift(store: Store, model_id: str) -> Drift | None:
    row = store.db.execute(
        "SELECT model_id, parent_id, kl, nll_drop, n_prompts, n_tokens, per_prompt FROM"
        " drift_scores WHERE model_id = ? ORDER BY id DESC LIMIT 1", [model_id]).fetchone()
    if row is None:
        return None
    return Drift(row[0], row[1], float(row[2]), float(row[3]), int(row[4]), int(row[5]),
                 json.loads(row[6] or "{}"))


def all_drift(store: Store) -> dict[str, Drift]:
    ids = [r[0] for r in store.db.execute("SELECT DISTINCT model_id FROM drift_scores")]
    return {str(i): d for i in ids if (d := latest_drift(store, str(i))) is not None}


def run_drift(store: Store, jobs_root: Path, config: DriftConfig,
              on_event: Callable[[Event], None]) -> Drift:
    """Run the drift job in the foreground (the CLI's way); raises DriftError on failure."""
    job_dir = write_job(config, jobs_root, "drift")
    last = run_foreground(DRIFT_MODULE, job_dir, on_event)
    if last is None or last.event != "finished":
        why = last.get("message", last.event) if last else \
            f"it crashed; see {job_dir}:\n{log_tail(job_dir, DRIFT_MODULE)}"
        raise DriftError(f"the drift of {config.model_id} was not measured: {why}")
    found = latest_drift(store, config.model_id)
    if found is None:
        raise DriftError(f"the drift job of {config.model_id} saved no score; see {job_dir}")
    return found
