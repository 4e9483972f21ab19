"""Readiness counts kept incrementally: what each prompt's labels contribute to SFT, DPO and
KTO, and their sums.

A trigger marks a prompt stale whenever one of its labels is written, undone, accepted or
deleted (``readiness_dirty``, studio/db/summaries.py). :func:`refresh` derives only the
stale prompts again, using the same rules as a snapshot (studio/data/derive.py: every rule
stays within one prompt), and moves the totals by the difference. After one label that is one
prompt's labels, not the whole store. A new or upgraded store starts with every labeled prompt
stale; the first refresh goes through them in chunks, each its own short transaction, so a
label made meanwhile waits for one chunk at most.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from studio.data.derive import derive_from
from studio.db.records import Label
from studio.db.store import WRITE_PATIENCE_S, Store
from studio.errors import StoreBusyError

CHUNK = 300  # prompts per refresh transaction: about 10-20 ms of write lock
# After each chunk the lock is left free this long: a label waiting in this process polls for
# it every 2 ms (studio/db/store.py) and would otherwise miss the gap between chunks.
GAP_S = 0.004
FIELDS = ("sft", "dpo", "kto_up", "kto_down", "conflicts")


@dataclass(frozen=True)
class Totals:
    sft: int
    dpo: int
    kto_up: int
    kto_down: int
    conflicts: int
    duplicates: int


def refresh(store: Store, chunk: int = CHUNK, patience: float = WRITE_PATIENCE_S) -> int:
    """Derive the stale prompts again and store the result; returns how many were refreshed.
    Raises StoreBusyError when another writer holds the lock for longer than ``patience``."""
    done = 0
    while True:
        # Read and write under the write lock: a label committed between reading the stale
        # prompts' labels and clearing their marks would otherwise be lost from the totals.
        with store.atomic(patience):
            ids = [row[0] for row in store.db.execute(
                "SELECT prompt_id FROM readiness_dirty LIMIT ?", [chunk])]
            if not ids:
                return done
            _refresh_prompts(store, ids)
        done += len(ids)
        time.sleep(GAP_S)


def totals(store: Store) -> Totals:
    """The current sums. Stale prompts are derived again and stored when the write lock is
    free; while another writer holds it (a long import), they are derived in memory on top
    of the stored sums, so a read never waits for a write."""
    try:
        refresh(store, patience=0.05)
    except StoreBusyError:
        pass  # the stale prompts left are added below, without writing
    with store.read_snapshot():
        row = store.db.execute("SELECT sft, dpo, kto_up, kto_down, conflicts, duplicates"
                               " FROM store_totals").fetchone()
        stored = list(row) if row else [0] * (len(FIELDS) + 1)
        stale = [r[0] for r in store.db.execute("SELECT prompt_id FROM readiness_dirty")]
        for start in range(0, len(stale), CHUNK):
            for index, change in enumerate(_changes(store, stale[start:start + CHUNK])):
                stored[index] += change
    return Totals(*stored)


def contributions(labels: list[Label]) -> dict[int, tuple[int, ...]]:
    """Per prompt: (sft, dpo, kto_up, kto_down, conflicts) of these labels that count."""
    by_prompt: dict[int, list[Label]] = defaultdict(list)
    for label in labels:
        by_prompt[label.prompt_id].append(label)
    out: dict[int, tuple[int, ...]] = {}
    for prompt_id, own in by_prompt.items():
        derivation = derive_from(own)
        up = sum(1 for item in derivation.kto if item[2])
        out[prompt_id] = (len(derivation.sft), len(derivation.dpo), up,
                          len(derivation.kto) - up, derivation.conflicts)
    return out


def _changes(store: Store, ids: list[int], new: dict[int, tuple[int, ...]] | None = None
             ) -> list[int]:
    """How the sums move when these prompts' stored contributions are replaced by ``new``
    (derived from their labels now when not given)."""
    if new is None:
        new = contributions(store.current_labels(prompt_ids=ids))
    old = {row[0]: tuple(row[1:]) for row in store.db.execute(
        f"SELECT prompt_id, {', '.join(FIELDS)} FROM readiness_prompt WHERE prompt_id IN"
        f" ({','.join('?' * len(ids))})", ids)}
    delta = [0] * len(FIELDS)
    for prompt_id in ids:
        before, after = old.get(prompt_id), new.get(prompt_id)
        for index in range(len(FIELDS)):
            delta[index] += (after[index] if after else 0) - (before[index] if before else 0)
    return delta


def _refresh_prompts(store: Store, ids: list[int]) -> None:
    marks = ",".join("?" * len(ids))
    new = contributions(store.current_labels(prompt_ids=ids))
    delta = _changes(store, ids, new)
    conn = store.db.conn
    conn.execute(f"DELETE FROM readiness_prompt WHERE prompt_id IN ({marks})", ids)
    conn.executemany(
        f"INSERT INTO readiness_prompt (prompt_id, {', '.join(FIELDS)}) VALUES (?, ?, ?, ?, ?,"
        " ?)", [(prompt_id, *values) for prompt_id, values in new.items() if any(values)])
    conn.execute(f"UPDATE store_totals SET {', '.join(f'{f} = {f} + ?' for f in FIELDS)}",
                 delta)
    conn.execute(f"DELETE FROM readiness_dirty WHERE prompt_id IN ({marks})", ids)
