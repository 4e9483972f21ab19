"""Eval sets: fixed prompts (with optional reference answers) scored by one grader, and the
runs of a model over them. Eval prompts never go into training snapshots (leakage)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.db.records import normalized_key, now_iso
from studio.db.store import Store
from studio.errors import NotFoundError, StudioError
from studio.evaluation.graders import parse_spec

PROMPT_KEYS = ("question", "prompt")
REFERENCE_KEYS = ("answer", "reference")


class EvalSetError(StudioError):
    """An eval set that cannot be created or found."""


@dataclass(frozen=True)
class EvalSet:
    id: int
    name: str
    grader: str
    size: int
    created_at: str


def create_eval_set(store: Store, name: str, grader_spec: str, *, from_file: Path | None = None,
                    from_snapshot: Path | None = None, tag: str | None = None,
                    prompt_ids: list[int] | None = None) -> EvalSet:
    """Create the set ``name`` from exactly one source (a file, a snapshot's eval split, a
    tag, or chosen prompts); a file's prompts are stored (deduplicated) in the prompts table
    with the tag ``eval:<name>``."""
    if not name.strip():
        raise EvalSetError("give the eval set a name")
    parse_spec(grader_spec, store)  # fail now on a bad spec, not at the first eval run
    if sum(x is not None for x in (from_file, from_snapshot, tag, prompt_ids)) != 1:
        raise EvalSetError("give exactly one source: a file, a snapshot folder, a tag or"
                           " chosen prompts")
    if store.db.execute("SELECT 1 FROM eval_sets WHERE name = ?", [name]).fetchone():
        raise EvalSetError(f"an eval set named {name!r} exists already; pick another name")
    if from_file is not None:
        items = [(store.add_prompt(q, tags=[f"eval:{name}"], source="eval"), ref)
                 for q, ref in read_items(Path(from_file))]
    elif from_snapshot is not None:
        items = [(pid, None) for pid in _snapshot_eval_prompts(Path(from_snapshot))]
    elif prompt_ids is not None:
        items = [(int(pid), None) for pid in dict.fromkeys(prompt_ids)]
    else:
        items = [(pid, None) for pid in _tagged_prompts(store, str(tag))]
    if not items:
        raise EvalSetError(f"the source of eval set {name!r} holds no prompts")
    with store.atomic():
        set_id = store.db.execute(
            "INSERT INTO eval_sets (name, grader, created_at) VALUES (?, ?, ?)",
            [name, grader_spec, now_iso()]).lastrowid
        store.db.conn.executemany(
            "INSERT OR IGNORE INTO eval_items (set_id, prompt_id, reference) VALUES (?, ?, ?)",
            [(set_id, pid, ref) for pid, ref in items])
    return get_eval_set(store, name)


def read_items(path: Path) -> list[tuple[str, str | None]]:
    """(prompt, reference) rows of a JSONL or CSV file; a bad row names its line and field."""
    if not path.is_file():
        raise EvalSetError(f"{path} does not exist")
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            rows: list[dict[str, Any]] = list(csv.DictReader(handle))
        numbered = list(enumerate(rows, start=2))  # line 1 is the header
    else:
        numbered = []
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                try:
                    numbered.append((line_no, json.loads(line)))
                except json.JSONDecodeError as error:
                    raise EvalSetError(f"{path}:{line_no}: not JSON ({error.msg})") from error
    return [_item(path, line_no, row) for line_no, row in numbered]


def _item(path: Path, line_no: int, row: Any) -> tuple[str, str | None]:
    if not isinstance(row, dict):
        raise EvalSetError(f"{path}:{line_no}: expected an object with a 'question' field")
    prompt = next((row[k] for k in PROMPT_KEYS if row.get(k)), None)
    if not isinstance(prompt, str):
        raise EvalSetError(f"{path}:{line_no}: field 'question' (or 'prompt') is missing or"
                           " not text")
    reference = next((row[k] for k in REFERENCE_KEYS if row.get(k) not in (None, "")), None)
    return prompt, None if reference is None else str(reference)


def _snapshot_eval_prompts(folder: Path) -> list[int]:
    """The prompt ids of a snapshot's eval split (its provenance file names them)."""
    provenance = folder / "provenance.jsonl"
    if not provenance.is_file():
        raise EvalSetError(f"{folder} is not a snapshot folder: it has no provenance.jsonl")
    ids: dict[int, None] = {}
    for line in provenance.read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else {}
        if row.get("split") == "eval":
            ids[int(row["prompt_id"])] = None
    return list(ids)


def _tagged_prompts(store: Store, tag: str) -> list[int]:
    rows = store.db.execute(
        "SELECT id FROM prompts WHERE EXISTS (SELECT 1 FROM json_each(prompts.tags)"
        " WHERE value = ?) ORDER BY id", [tag]).fetchall()
    return [int(r[0]) for r in rows]


def get_eval_set(store: Store, name: str) -> EvalSet:
    for found in list_eval_sets(store):
        if found.name == name:
            return found
    raise NotFoundError(f"no eval set named {name!r}; see 'tuning-studio evalset list'")


def list_eval_sets(store: Store) -> list[EvalSet]:
    rows = store.db.execute(
        "SELECT s.id, s.name, s.grader, COUNT(i.prompt_id), s.created_at FROM eval_sets s"
        " LEFT JOIN eval_items i ON i.set_id = s.id GROUP BY s.id ORDER BY s.name").fetchall()
    return [EvalSet(int(r[0]), r[1], r[2], int(r[3]), r[4]) for r in rows]


def eval_items(store: Store, set_id: int) -> list[tuple[int, list[dict[str, str]], str | None]]:
    """(prompt id, messages, reference) of a set, in prompt order."""
    rows = store.db.execute(
        "SELECT p.id, p.messages, p.system, i.reference FROM eval_items i JOIN prompts p"
        " ON p.id = i.prompt_id WHERE i.set_id = ? ORDER BY p.id", [set_id]).fetchall()
    items = []
    for pid, messages, system, reference in rows:
        chat = json.loads(messages)
        if system:
            chat = [{"role": "system", "content": system}, *chat]
        items.append((int(pid), chat, reference))
    return items


def eval_prompt_ids(store: Store) -> set[int]:
    """Every prompt in any eval set, and every stored prompt that differs from one only by
    case or whitespace: training snapshots, GRPO prompts and candidates leave these out."""
    ids = {int(r[0]) for r in store.db.execute("SELECT DISTINCT prompt_id FROM eval_items")}
    if not ids:
        return ids
    fill_norm_keys(store)
    rows = store.db.execute(
        "SELECT id FROM prompts WHERE norm_key IN (SELECT p.norm_key FROM eval_items i JOIN"
        " prompts p ON p.id = i.prompt_id)")
    return ids | {int(r[0]) for r in rows}


def fill_norm_keys(store: Store, chunk: int = 5000) -> int:
    """Compute the normalised key of the prompts that have none yet (stored before the key
    existed, or by a bulk import), a chunk per short transaction; returns how many."""
    done = 0
    while True:
        rows = store.db.execute("SELECT id, messages, system FROM prompts WHERE norm_key IS"
                                " NULL LIMIT ?", [chunk]).fetchall()
        if not rows:
            return done
        keys = [(normalized_key(json.loads(messages), system), pid)
                for pid, messages, system in rows]
        with store.atomic():
            store.db.conn.executemany(
                "UPDATE prompts SET norm_key = ? WHERE id = ? AND norm_key IS NULL", keys)
        done += len(rows)
