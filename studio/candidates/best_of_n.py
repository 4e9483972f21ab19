"""Rejection sampling (best-of-N): from the stored candidates, keep per prompt the best answer
and write an SFT snapshot of the winners; on request, DPO pairs best vs worst as well.

"Best" is the person's choice where they compared the candidates (most pairwise wins), else
the grader's highest score. A winner that the grader fails (score below 0.5) is not kept: SFT
on it would teach the failure. Each provenance line says who judged (``person`` or
``grader``) and holds every candidate's score, so a snapshot says why each winner won. Pairs
judged by the grader are marked ``machine_judged``. The snapshot format is
:mod:`studio.data.snapshots`'s, so every method and check reads it unchanged.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.data.snapshots import (
    MANIFEST_VERSION,
    Snapshot,
    _move_into_place,
    _register,
    _split,
    _write_files,
)
from studio.db.records import Prompt, Response, now_iso
from studio.db.store import Store
from studio.errors import EmptyDatasetError
from studio.evaluation.evalsets import eval_prompt_ids
from studio.evaluation.graders import Grader, parse_spec
from studio.evaluation.graders.sandbox import close_all, isolate
from studio.training.grpo import gold_references

PAIRS_FOLDER = "pairs"


@dataclass(frozen=True)
class Choice:
    """One prompt's outcome: the winner and loser and every candidate's grader score."""

    prompt: Prompt
    best: Response
    worst: Response
    scores: dict[int, float]
    judged_by: str  # person | grader

    @property
    def best_score(self) -> float:
        return self.scores[self.best.id]


def candidates_by_prompt(store: Store, models: list[str] | None = None
                         ) -> dict[int, list[Response]]:
    """Model-written responses per prompt (several models form a committee), without the
    eval sets' prompts."""
    sql = "SELECT * FROM responses WHERE origin = 'model'"
    params: list[Any] = []
    if models:
        sql += f" AND model IN ({','.join('?' * len(models))})"
        params += models
    held_out = eval_prompt_ids(store)
    out: dict[int, list[Response]] = defaultdict(list)
    for row in store.db.query(sql + " ORDER BY id", params):
        response = Response.from_row(row)
        if response.prompt_id not in held_out:
            out[response.prompt_id].append(response)
    return dict(out)


def person_wins(store: Store, prompt_ids: list[int]) -> dict[int, Counter[int]]:
    """Per prompt, how often the person chose each response in a decisive pair."""
    wins: dict[int, Counter[int]] = defaultdict(Counter)
    for label in store.current_labels(kind="pair", prompt_ids=prompt_ids):
        decided = label.chosen_rejected
        if decided is not None and label.annotator_kind == "human":
            wins[label.prompt_id][decided[0]] += 1
            wins[label.prompt_id][decided[1]] -= 1
    return wins


def choose(store: Store, grader: Grader, models: list[str] | None = None) -> list[Choice]:
    """The best and worst candidate of every prompt with at least two candidates."""
    groups = {pid: c for pid, c in candidates_by_prompt(store, models).items() if len(c) >= 2}
    ids = sorted(groups)
    prompts = store.prompts_by_id(ids)
    references = gold_references(store, ids)
    wins = person_wins(store, ids)
    out = []
    for pid in ids:
        prompt, group = prompts[pid], groups[pid]
        grades = grader.score_batch([prompt.text] * len(group), [r.text for r in group],
                                    [references.get(pid)] * len(group))
        scores = {r.id: g.score for r, g in zip(group, grades, strict=True)}
        person = wins.get(pid)
        if person:  # the person's comparisons first; the grader breaks ties
            ranked = sorted(group, key=lambda r: (person[r.id], scores[r.id]), reverse=True)
        else:
            ranked = sorted(group, key=lambda r: scores[r.id], reverse=True)
        out.append(Choice(prompt, ranked[0], ranked[-1], scores,
                          "person" if person else "grader"))
    return out


def _provenance(choice: Choice, spec: str, response_ids: list[int]) -> dict[str, Any]:
    return {"response_ids": response_ids, "label_ids": [], "judged_by": choice.judged_by,
            "machine_judged": choice.judged_by == "grader", "grader": spec,
            "score": choice.best_score,
            "scores": {str(rid): score for rid, score in choice.scores.items()}}


def _rows(choices: list[Choice], spec: str, kind: str, eval_fraction: float
          ) -> list[tuple[str, Prompt, dict[str, Any], dict[str, Any]]]:
    rows = []
    for c in choices:
        answer = [{"role": "assistant", "content": c.best.text}]
        if kind == "sft":
            record: dict[str, Any] = {"messages": c.prompt.conversation() + answer}
            prov = _provenance(c, spec, [c.best.id])
        else:
            record = {"prompt": c.prompt.conversation(), "chosen": answer,
                      "rejected": [{"role": "assistant", "content": c.worst.text}]}
            prov = _provenance(c, spec, [c.best.id, c.worst.id])
        rows.append((_split(c.prompt, eval_fraction, 0), c.prompt, record, prov))
    return rows


def _write_snapshot(folder: Path, kind: str, rows: list[Any], extra: dict[str, Any]
                    ) -> tuple[str, dict[str, int]]:
    folder.mkdir(parents=True, exist_ok=True)
    digest, counts, _ = _write_files(folder, kind, rows)
    manifest = {"version": MANIFEST_VERSION, "id": f"{kind}-{digest[:12]}", "kind": kind,
                "created_at": now_iso(), "content_hash": digest, "counts": counts,
                "label_ids": [], "format": "conversational", "rules":
                "see studio/candidates/best_of_n.py", **extra}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return digest, counts


def best_of_n(store: Store, spec: str, out_dir: Path | str, pairs: bool = False,
              models: list[str] | None = None, eval_fraction: float = 0.0) -> Snapshot:
    """Write the winners' SFT snapshot to ``out_dir`` (and DPO pairs to ``out_dir/pairs``)."""
    # Each rule scores in a worker with a time limit per answer: a backtracking regex or a
    # hanging Python grader costs one candidate's score, never the whole command.
    grader = isolate(parse_spec(spec, store))
    try:
        choices = choose(store, grader, models)
    finally:
        close_all(grader)
    winners = [c for c in choices if c.judged_by == "person" or c.best_score >= 0.5]
    if not winners:
        raise EmptyDatasetError(f"no prompt has a candidate that passes {spec!r} among two or"
                                " more stored candidates; generate more candidates first")
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    extra = {"source": "best-of-n", "grader": spec, "models": models,
             "prompts_with_candidates": len(choices),
             "dropped_no_passing_candidate": len(choices) - len(winners),
             "judged_by_person": sum(c.judged_by == "person" for c in winners)}
    try:
        digest, counts = _write_snapshot(staging, "sft", _rows(winners, spec, "sft",
                                                               eval_fraction), extra)
        if pairs:
            decisive = [c for c in winners if c.judged_by == "person"
                        or c.best_score > c.scores[c.worst.id]]
            _write_snapshot(staging / PAIRS_FOLDER, "dpo",
                            _rows(decisive, spec, "dpo", eval_fraction),
                            {**extra, "machine_judged": any(c.judged_by == "grader"
                                                            for c in decisive)})
        _move_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    snapshot = Snapshot(f"sft-{digest[:12]}", "sft", out, digest, counts, [])
    _register(store, snapshot)
    return snapshot
