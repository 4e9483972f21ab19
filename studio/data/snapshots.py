"""TRL-ready dataset snapshots: files plus a manifest that says exactly what went in.

A snapshot folder holds ``train.jsonl``, ``eval.jsonl`` (conversational TRL formats),
``provenance.jsonl`` (the prompt, responses and label ids behind each line) and
``manifest.json`` (counts, label ids, derivation rules and a content hash). The split is
deterministic and grouped by prompt, so no prompt is on both sides.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from studio.data.derive import Derivation, derive
from studio.data.readiness import totals as readiness_totals
from studio.data.scope import ALL, LabelScope, resolve_scope, scoped_labels
from studio.db.records import Prompt, now_iso
from studio.db.store import Store
from studio.errors import DiskFullError, EmptyDatasetError, NotFoundError
from studio.evaluation.evalsets import eval_prompt_ids

KINDS = ("sft", "dpo", "kto")
MANIFEST_VERSION = 1
# Minimums from the smol course / TRL docs: below these a run rarely changes behaviour.
RECOMMENDED = {"sft": 1000, "dpo": 500, "kto": 500}
KTO_MAX_RATIO = 4.0  # thumbs up:down (either way) beyond which KTO is not recommended
# The least data at which a method is recommended at all. SFT: 33 good answers taught
# SmolLM2-135M a format rule (0/17 -> 17/17 held-out, bench/results/2026-12-03-real-sft-
# efficacy.txt). DPO/KTO: a fifth of the recommended amount; a dozen thumbs recommended KTO
# before, and a run on them changes nothing a person can see.
USABLE = {"sft": 30, "dpo": 100, "kto": 100}


@dataclass
class Snapshot:
    id: str
    kind: str
    path: Path
    content_hash: str
    counts: dict[str, int]
    label_ids: list[int]


def _split(prompt: Prompt, eval_fraction: float, seed: int) -> str:
    bucket = int(hashlib.sha256(f"{seed}:{prompt.hash}".encode()).hexdigest()[:8], 16)
    return "eval" if bucket % 10_000 < eval_fraction * 10_000 else "train"


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def _records(store: Store, kind: str, derivation: Derivation
             ) -> list[tuple[Prompt, dict[str, Any], dict[str, Any]]]:
    """(prompt, TRL record, provenance) for each example of the kind."""
    # Each kind's rows start (prompt id, response id...); the tails differ in type.
    by_kind: dict[str, Sequence[tuple[Any, ...]]] = {
        "sft": derivation.sft, "dpo": derivation.dpo, "kto": derivation.kto}
    examples = by_kind[kind]
    prompts = store.prompts_by_id(example[0] for example in examples)
    width = 2 if kind == "dpo" else 1  # dpo rows hold chosen and rejected ids
    response_ids = [rid for example in examples for rid in example[1:1 + width]]
    responses = store.responses_by_id(response_ids)

    def prompt(prompt_id: int) -> Prompt:
        return prompts[prompt_id]

    def text(response_id: int) -> str:
        return responses[response_id].text

    out = []
    if kind == "sft":
        for pid, rid, ids in derivation.sft:
            record: dict[str, Any] = {
                "messages": prompt(pid).conversation() + _assistant(text(rid))}
            out.append((prompt(pid), record, {"response_ids": [rid], "label_ids": list(ids)}))
    elif kind == "dpo":
        for pid, chosen, rejected, ids in derivation.dpo:
            record = {"prompt": prompt(pid).conversation(), "chosen": _assistant(text(chosen)),
                      "rejected": _assistant(text(rejected))}
            out.append((prompt(pid), record,
                        {"response_ids": [chosen, rejected], "label_ids": list(ids)}))
    else:
        for pid, rid, desirable, ids in derivation.kto:
            record = {"prompt": prompt(pid).conversation(), "completion": _assistant(text(rid)),
                      "label": desirable}
            out.append((prompt(pid), record, {"response_ids": [rid], "label_ids": list(ids)}))
    return out


def _ensure_eval(rows: list[tuple[str, Prompt, dict, dict]], eval_fraction: float) -> None:
    """With few prompts the hash split can leave eval empty: move the first prompt over."""
    prompt_ids = {prompt.id for _, prompt, _, _ in rows}
    if eval_fraction <= 0 or len(prompt_ids) < 5 or any(s == "eval" for s, *_ in rows):
        return
    chosen = min(prompt.hash for _, prompt, _, _ in rows)
    for index, (_, prompt, record, provenance) in enumerate(rows):
        if prompt.hash == chosen:
            rows[index] = ("eval", prompt, record, provenance)


def export_snapshot(store: Store, kind: str, out_dir: Path | str, eval_fraction: float = 0.1,
                    seed: int = 0, scope: LabelScope | str = ALL, named: bool = False
                    ) -> Snapshot:
    """Write a snapshot of the current labels into ``out_dir`` and register it; ``scope``
    (:mod:`studio.data.scope`: mine, all, a tag or a source) picks the labels it derives from.

    ``named``: ``out_dir`` is the snapshots folder, and the snapshot goes into a folder of
    its own named by what it holds (:func:`_identity`), written once and never rewritten: a
    queued or resumed run reads the data it was launched with, whatever later launches
    export (a fixed ``sft-latest`` was replaced under them). The same labels again find
    their folder already there."""
    if kind not in KINDS:
        raise NotFoundError(f"unknown dataset kind {kind!r}; use one of {', '.join(KINDS)}")
    scope = resolve_scope(store, scope) if isinstance(scope, str) else scope
    derivation = derive(store, labels=None if scope.selector == ALL
                        else scoped_labels(store, scope))
    # Eval-set prompts stay out of training data, or the eval measures memorisation.
    held_out = eval_prompt_ids(store)
    all_records = _records(store, kind, derivation)
    records = [r for r in all_records if r[0].id not in held_out]
    if not records:
        within = "" if scope.selector == ALL else f" within scope {scope.selector!r}"
        raise EmptyDatasetError(f"there are no {kind.upper()} examples in the labels"
                                f"{within} yet")
    rows = [(_split(p, eval_fraction, seed), p, r, prov) for p, r, prov in records]
    _ensure_eval(rows, eval_fraction)
    out = Path(out_dir)
    root = out if named else out.parent
    root.mkdir(parents=True, exist_ok=True)
    # A unique staging folder per call: two exports to the same place never share one.
    staging = Path(tempfile.mkdtemp(prefix=f".{kind if named else out.name}.",
                                    suffix=".partial", dir=root))
    try:
        digest, counts, label_ids = _write_files(staging, kind, rows)
        if named:
            out = root / f"{kind}-{_identity(digest, scope.selector, label_ids)}"
        snapshot = Snapshot(f"{kind}-{digest[:12]}", kind, out, digest, counts, label_ids)
        manifest = {
            "version": MANIFEST_VERSION, "id": snapshot.id, "kind": kind,
            "created_at": now_iso(), "content_hash": digest, "counts": counts,
            "eval_fraction": eval_fraction, "seed": seed,
            "conflicts_dropped": derivation.conflicts, "label_ids": label_ids,
            "scope": scope.selector,
            "excluded_eval_prompts": len({r[0].id for r in all_records} & held_out),
            "format": "conversational", "rules": "see studio/derive.py",
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2))
        if named and same_content(out, digest):
            shutil.rmtree(staging, ignore_errors=True)  # these labels, written before
        else:
            _move_into_place(staging, out)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        if error.errno == errno.ENOSPC:
            raise DiskFullError.at(out.parent, "exporting the snapshot") from error
        raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _register(store, snapshot)
    return snapshot


def same_content(folder: Path, digest: str) -> bool:
    """Whether ``folder`` already holds a whole snapshot of this content hash (a folder
    named by its content is reused, never rewritten; a damaged one is replaced)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("content_hash") == digest \
        and (folder / "train.jsonl").is_file()


def _identity(digest: str, selector: str, label_ids: list[int]) -> str:
    """A name for what a snapshot holds: its files' content, and the scope and labels its
    manifest records (the same examples from other labels are another snapshot's lineage)."""
    key = f"{digest}\n{selector}\n{','.join(map(str, label_ids))}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _move_into_place(staging: Path, out: Path) -> None:
    """Rename the finished folder to ``out``; readers see the old or the new one, never half.
    A concurrent export of the same place may win the race in between: then try again."""
    for _ in range(20):
        try:
            os.rename(staging, out)
            return
        except OSError as error:
            if error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        old = out.with_name(f".{out.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(out, old)
        except FileNotFoundError:
            continue  # the other export moved it away first
        shutil.rmtree(old, ignore_errors=True)
    raise OSError(errno.EBUSY, f"{out} kept being replaced by another export; try again")


def _write_files(folder: Path, kind: str, rows: list[tuple[str, Prompt, dict, dict]]
                 ) -> tuple[str, dict[str, int], list[int]]:
    digest = hashlib.sha256(kind.encode())
    counts = {"train": 0, "eval": 0, "prompts": len({p.id for _, p, _, _ in rows})}
    label_ids: set[int] = set()
    with (folder / "train.jsonl").open("w", encoding="utf-8") as train, \
            (folder / "eval.jsonl").open("w", encoding="utf-8") as evaluation, \
            (folder / "provenance.jsonl").open("w", encoding="utf-8") as provenance:
        for split, prompt, record, prov in rows:
            line = json.dumps(record, ensure_ascii=False) + "\n"
            digest.update(f"{split}\n{line}".encode())
            (train if split == "train" else evaluation).write(line)
            provenance.write(json.dumps({"split": split, "line": counts[split] + 1,
                                         "prompt_id": prompt.id, **prov}) + "\n")
            counts[split] += 1
            label_ids.update(prov["label_ids"])
    if kind == "kto":
        counts["desirable"] = sum(1 for _, _, r, _ in rows if r["label"])
        counts["undesirable"] = len(rows) - counts["desirable"]
    return digest.hexdigest(), counts, sorted(label_ids)


def _register(store: Store, snapshot: Snapshot) -> None:
    with store.atomic():
        store.db.execute(
            "INSERT OR REPLACE INTO snapshots (id, kind, path, content_hash, counts, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [snapshot.id, snapshot.kind, str(snapshot.path), snapshot.content_hash,
             json.dumps(snapshot.counts), now_iso()],
        )


def load_manifest(folder: Path | str) -> dict[str, Any]:
    path = Path(folder) / "manifest.json"
    if not path.exists():
        raise NotFoundError(f"{folder} is not a snapshot (no manifest.json)")
    return json.loads(path.read_text())


@dataclass
class Readiness:
    """What the labels can train now, against the recommended minimums."""

    sft: int
    dpo: int
    kto_up: int
    kto_down: int
    conflicts: int
    recommended: str | None
    why: str = ""  # the reason for the recommendation, in a sentence

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def readiness(store: Store) -> Readiness:
    """From counts kept per prompt (studio/data/readiness.py): after a label only that
    prompt is derived again, not every label in the store."""
    found = readiness_totals(store)
    sft, dpo, up, down = found.sft, found.dpo, found.kto_up, found.kto_down
    ratio = max(up, down) / min(up, down) if up and down else None
    share = {
        "dpo": dpo / RECOMMENDED["dpo"],
        # Unbalanced thumbs are left out: recommending KTO next to a 127:1 warning misled.
        "kto": (up + down) / RECOMMENDED["kto"] if ratio and ratio <= KTO_MAX_RATIO else 0.0,
        "sft": sft / RECOMMENDED["sft"],
    }
    counts = {"sft": sft, "dpo": dpo, "kto": up + down}
    usable = [kind for kind in share if share[kind] > 0 and counts[kind] >= USABLE[kind]]
    recommended = max(usable, key=lambda kind: share[kind]) if usable else None
    return Readiness(sft, dpo, up, down, found.conflicts, recommended,
                     _why(recommended, share, ratio, any(counts.values())))


def _why(recommended: str | None, share: dict[str, float], ratio: float | None,
         some_data: bool = False) -> str:
    if recommended is None and not some_data:
        return "No method has training data yet."
    if recommended is None:
        text = ("Not enough yet for a run worth its time: SFT needs about"
                f" {USABLE['sft']} good answers, DPO about {USABLE['dpo']} pairs, KTO about"
                f" {USABLE['kto']} balanced thumbs.")
    else:
        have = {"sft": "good answers", "dpo": "preference pairs", "kto": "thumbs"}[recommended]
        text = (f"{recommended.upper()}: its {have} reach {share[recommended]:.0%} of the"
                f" recommended {RECOMMENDED[recommended]:,}.")
    if ratio and ratio > KTO_MAX_RATIO:
        text += (f" KTO is not recommended: thumbs are {ratio:.0f}:1 unbalanced (it works best"
                 f" within {KTO_MAX_RATIO:.0f}:1).")
    return text
