"""The built-in "general" eval set: about 100 short prompts written for the project (facts,
arithmetic, short instructions) with references, shipped in ``resources/general_eval.jsonl``
and graded by ``mentions``. It needs no network and no grader of the user's, so every model
gets a column in the regression matrix that says whether a tune broke what already worked.

Its prompts, and the user's own prompts that are in no training snapshot, are also where the
drift score (``studio.evaluation.drift``) looks: topics the tune never trained on.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.db.store import Store
from studio.errors import NotFoundError
from studio.evaluation.evalsets import (
    EvalSet,
    create_eval_set,
    eval_prompt_ids,
    get_eval_set,
    list_eval_sets,
)
from studio.paths import resources_dir

GENERAL_SET = "general"
GENERAL_GRADER = "mentions"


def general_file() -> Path:
    return resources_dir() / "general_eval.jsonl"


def ensure_general_set(store: Store) -> EvalSet:
    """The built-in set, created from the shipped file the first time it is asked for."""
    try:
        return get_eval_set(store, GENERAL_SET)
    except NotFoundError:
        return create_eval_set(store, GENERAL_SET, GENERAL_GRADER, from_file=general_file())


def matrix_sets(store: Store) -> list[EvalSet]:
    """Every eval set, the general one always among them: before its first use it is listed
    as it will be (id -1, no runs) rather than written into the user's prompts by a view."""
    sets = list_eval_sets(store)
    if any(s.name == GENERAL_SET for s in sets):
        return sets
    size = sum(1 for line in general_file().read_text(encoding="utf-8").splitlines()
               if line.strip())
    return sorted([*sets, EvalSet(-1, GENERAL_SET, GENERAL_GRADER, size, "")],
                  key=lambda s: s.name)


def trained_prompt_ids(store: Store) -> set[int]:
    """Every prompt in a registered snapshot (its provenance names them); a snapshot folder
    that is gone counts as empty, so its prompts may be picked as untrained."""
    ids: set[int] = set()
    for (path,) in store.db.execute("SELECT path FROM snapshots").fetchall():
        provenance = Path(path) / "provenance.jsonl"
        if not provenance.is_file():
            continue
        for line in provenance.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            if isinstance(row, dict) and row.get("prompt_id") is not None:
                ids.add(int(row["prompt_id"]))
    return ids


def drift_prompt_ids(store: Store, own_limit: int = 50) -> list[int]:
    """The prompts drift is measured on: the general set's, then up to ``own_limit`` of the
    user's own prompts that no training snapshot holds and no eval set uses (oldest first)."""
    general = ensure_general_set(store)
    mine = [int(r[0]) for r in store.db.execute(
        "SELECT prompt_id FROM eval_items WHERE set_id = ? ORDER BY prompt_id", [general.id])]
    excluded = trained_prompt_ids(store) | eval_prompt_ids(store)
    own: list[int] = []
    for (pid,) in store.db.execute("SELECT id FROM prompts ORDER BY id"):
        if len(own) >= own_limit:
            break
        if int(pid) not in excluded:
            own.append(int(pid))
    return mine + own
