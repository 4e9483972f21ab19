"""GRPO's data: a snapshot of prompts to practise on, chosen by a tag, a source, ``all``, or
``evalset:NAME`` (the eval set's training counterpart: prompts with the same tags as its
prompts, or the same sources when they have no tags; never its prompts themselves).

GRPO needs no answers, only prompts and graders. The snapshot has the same layout as the
labelled ones (:mod:`studio.data.snapshots`), with kind ``grpo``: ``train.jsonl`` rows are
``{"prompt": [messages], "reference": text or null}`` (the reference is the prompt's newest
gold answer, which graders such as ``numeric`` compare against); ``eval.jsonl`` is empty,
because GRPO is measured on an eval set afterwards, whose prompts are never in the snapshot.
The app and the CLI keep it in ``snapshots/grpo-<content hash>`` (:func:`prompt_snapshot`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio.data.scope import tagged_or_sourced
from studio.data.snapshots import (
    MANIFEST_VERSION,
    Snapshot,
    _move_into_place,
    _register,
    same_content,
)
from studio.db.records import Prompt, now_iso
from studio.db.store import Store
from studio.errors import EmptyDatasetError
from studio.evaluation.evalsets import eval_prompt_ids
from studio.paths import DataPaths
from studio.training.config import ConfigError

ALL = "all"
EVALSET = "evalset:"


class PromptSelectorError(ConfigError):
    """A prompt selector that names no usable prompts' origin (e.g. an unknown eval set)."""


def counterpart_ids(store: Store, set_name: str) -> list[int]:
    """The eval set's training counterpart, in id order: the prompts that share a tag with the
    set's prompts, or, when those carry no tag of their own, a source (the set's own ``eval:``
    tags and the ``eval`` source do not count; tags first, because a source such as a typed
    prompt's is broad). Eval-set prompts are left out later, with every other selector's."""
    found = store.db.execute("SELECT id FROM eval_sets WHERE name = ?", [set_name]).fetchone()
    if found is None:
        raise PromptSelectorError(f"prompts {EVALSET}{set_name}: there is no eval set named"
                                  f" {set_name!r}; see 'tuning-studio evalset list'")
    members = "SELECT prompt_id FROM eval_items WHERE set_id = ?"
    tags = [str(row[0]) for row in store.db.execute(
        f"SELECT DISTINCT t.value FROM prompts p, json_each(p.tags) t WHERE p.id IN ({members})"
        " AND t.value NOT LIKE 'eval:%'", [int(found[0])])]
    if tags:
        sql = ("SELECT DISTINCT p.id FROM prompts p, json_each(p.tags) t WHERE t.value IN"
               f" ({','.join('?' * len(tags))}) ORDER BY p.id")
        return [int(row[0]) for row in store.db.execute(sql, tags)]
    rows = store.db.execute(
        f"SELECT id FROM prompts WHERE source IN (SELECT DISTINCT source FROM prompts WHERE id"
        f" IN ({members}) AND source != 'eval') ORDER BY id", [int(found[0])]).fetchall()
    return [int(row[0]) for row in rows]


def select_prompts(store: Store, selector: str) -> tuple[list[Prompt], int]:
    """The prompts a selector names (a tag, a source, or all) minus every eval-set prompt,
    and how many eval prompts were left out."""
    if selector == ALL:
        rows = store.db.execute("SELECT id FROM prompts ORDER BY id").fetchall()
        ids = [int(row[0]) for row in rows]
    elif selector.startswith(EVALSET):
        ids = counterpart_ids(store, selector.removeprefix(EVALSET))
    else:
        ids = tagged_or_sourced(store, selector)
    # Eval-set prompts stay out of training data, or the eval measures memorisation.
    held_out = eval_prompt_ids(store)
    kept = [pid for pid in ids if pid not in held_out]
    prompts = store.prompts_by_id(kept)
    return [prompts[pid] for pid in kept], len(ids) - len(kept)


def gold_references(store: Store, prompt_ids: list[int]) -> dict[int, str]:
    """The newest current gold answer of each prompt that has one."""
    if not prompt_ids:
        return {}
    labels = store.current_labels(kind="gold", prompt_ids=prompt_ids)
    responses = store.responses_by_id(label.response_id for label in labels
                                      if label.response_id is not None)
    out: dict[int, str] = {}
    for label in labels:  # ordered by id: a later gold answer replaces an earlier one
        if label.response_id in responses:
            out[label.prompt_id] = responses[label.response_id].text
    return out


def export_prompt_snapshot(store: Store, selector: str, out_dir: Path | str) -> Snapshot:
    """Write the GRPO prompt snapshot of ``selector`` into ``out_dir`` and register it (tests
    and benchmarks name their folder; the app and the CLI use :func:`prompt_snapshot`)."""
    out = Path(out_dir)
    return _place(store, selector, out.parent, lambda snapshot: out, reuse=False)


def prompt_snapshot(store: Store, selector: str, snapshots: Path | str) -> Snapshot:
    """The GRPO prompt snapshot of ``selector`` in ``snapshots/<its id>``, named by its content
    (``grpo-<hash>``): the one naming of the Train page, its probe and the CLI.

    A folder is written once, whole (a rename), and never rewritten: the same prompts find
    the folder already there, and a probe reading it while a launch snapshots the same prompts
    never sees it change (a fixed name such as ``grpo-latest`` was rewritten under it)."""
    root = Path(snapshots)
    return _place(store, selector, root, lambda snapshot: root / snapshot.id, reuse=True)


def _place(store: Store, selector: str, parent: Path, place: Callable[[Snapshot], Path],
           reuse: bool) -> Snapshot:
    """Stage the snapshot under ``parent``, move it to ``place(snapshot)`` (``reuse``: keep a
    folder already there with the same content; a damaged one is replaced), register it."""
    staging, snapshot = _stage(store, selector, parent)
    out = place(snapshot)
    try:
        if reuse and same_content(out, snapshot.content_hash):
            shutil.rmtree(staging, ignore_errors=True)
        else:
            _move_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    snapshot.path = out
    _register(store, snapshot)
    return snapshot


def _stage(store: Store, selector: str, parent: Path) -> tuple[Path, Snapshot]:
    """The snapshot of ``selector`` written whole into a staging folder under ``parent``."""
    prompts, excluded = select_prompts(store, selector)
    if not prompts:
        where = ("prompt" if selector == ALL else
                 f"a prompt with the tags or sources of eval set {selector[len(EVALSET):]!r}"
                 " (a set made from a file has none of its own)"
                 if selector.startswith(EVALSET) else f"a tag or source named {selector!r}")
        raise EmptyDatasetError(f"no prompts to practise on: the store has no {where} outside"
                                " the eval sets; import prompts or pick another tag")
    references = gold_references(store, [p.id for p in prompts])
    rows = [({"prompt": p.conversation(), "reference": references.get(p.id)}, p.id)
            for p in prompts]
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".grpo.", suffix=".partial", dir=parent))
    try:
        digest = _write(staging, rows)
        counts = {"train": len(rows), "eval": 0, "prompts": len(rows),
                  "with_reference": len(references)}
        snapshot = Snapshot(f"grpo-{digest[:12]}", "grpo", staging, digest, counts, [])
        manifest: dict[str, Any] = {
            "version": MANIFEST_VERSION, "id": snapshot.id, "kind": "grpo",
            "created_at": now_iso(), "content_hash": digest, "counts": counts,
            "prompts": selector, "excluded_eval_prompts": excluded, "label_ids": [],
            "format": "conversational prompts", "rules": "see studio/training/grpo.py",
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging, snapshot


def _write(folder: Path, rows: list[tuple[dict[str, Any], int]]) -> str:
    digest = hashlib.sha256(b"grpo")
    with (folder / "train.jsonl").open("w", encoding="utf-8") as train, \
            (folder / "provenance.jsonl").open("w", encoding="utf-8") as provenance:
        for line_no, (record, prompt_id) in enumerate(rows, start=1):
            line = json.dumps(record, ensure_ascii=False) + "\n"
            digest.update(line.encode())
            train.write(line)
            provenance.write(json.dumps({"split": "train", "line": line_no,
                                         "prompt_id": prompt_id}) + "\n")
    (folder / "eval.jsonl").write_text("", encoding="utf-8")
    return digest.hexdigest()


def grpo_snapshot_fields(store: Store, paths: DataPaths, graders: list[str],
                         selector: str | None) -> dict[str, Any]:
    """The config fields of a GRPO run on ``selector``'s prompts: it snapshots them now."""
    if not graders or not selector:
        raise ConfigError("train --method grpo: give --grader SPEC (one or more) and"
                          " --prompts TAG|SOURCE|all")
    snapshot = prompt_snapshot(store, selector, paths.snapshots)
    return {"graders": list(graders), "prompts": selector, "snapshot_dir": str(snapshot.path)}


def prompt_choices(store: Store) -> list[str]:
    """``all``, the tags and sources of the stored prompts (eval-set tags left out), then
    ``evalset:NAME`` for each eval set with a training counterpart."""
    tags = {str(row[0]) for row in store.db.execute(
        "SELECT DISTINCT value FROM prompts, json_each(prompts.tags)")}
    sources = {str(row[0]) for row in store.db.execute("SELECT DISTINCT source FROM prompts")}
    held_out = eval_prompt_ids(store)
    sets = [str(row[0]) for row in store.db.execute("SELECT name FROM eval_sets ORDER BY name")]
    counterparts = [EVALSET + name for name in sets
                    if any(pid not in held_out for pid in counterpart_ids(store, name))]
    return [ALL, *sorted(name for name in tags | sources
                         if not name.startswith("eval:") and name != "eval"), *counterparts]
