"""The rounds board: each round's lineage and numbers, and starting the next round.

Plain store logic behind the Models page's rounds view (no Qt). A round is linked to the
first completed run that started after it from its parent model, and to that run's adapter.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.data.snapshots import load_manifest
from studio.db.sqlite_db import NotFoundError as RowMissing
from studio.db.store import Store
from studio.errors import NotFoundError, StudioError
from studio.registry import models
from studio.registry.gguf_resolve import NoGGUFError, resolve_gguf
from studio.rounds import rounds
from studio.rounds.rounds import Round
from studio.training.runs import Run, list_runs

COLUMNS = ("Round", "Starts from", "Method", "Snapshot", "Model", "Reward acc.",
           "Win-rate vs parent", "Other numbers")
ACCURACY_KEYS = ("eval_rewards/accuracies", "rewards/accuracies")


@dataclass(frozen=True)
class RoundRow:
    round: Round
    parent: str
    model: str
    snapshot: str
    accuracy: float | None
    win_rate: dict[str, Any] | None
    other: str

    def cells(self) -> list[str]:
        acc = "" if self.accuracy is None else f"{self.accuracy:.0%}"
        win = "" if self.win_rate is None else (
            f"{self.win_rate['win_rate']:.0%} ({self.win_rate['ci95'][0]:.0%}-"
            f"{self.win_rate['ci95'][1]:.0%}, {self.win_rate['decisive_votes']} votes)")
        return [f"Round {self.round.number}", self.parent, self.round.method or "",
                self.snapshot, self.model or "not trained yet", acc, win, self.other]


def _name(store: Store, model_id: str | None) -> str:
    if not model_id:
        return ""
    try:
        return models.get_model(store, model_id).name
    except NotFoundError:
        return f"{model_id} (deleted)"


def starts_from(run: Run, parent: models.ModelEntry) -> bool:
    """Whether a run trained from this parent model (next-round adapter or fresh base)."""
    init = run.config.get("init_adapter")
    if parent.kind == "adapter":
        if not init:
            return False
        return Path(init).resolve() == Path(parent.path).resolve()
    return not init and run.parent_model_id == parent.id


def link_rounds(store: Store) -> None:
    """Attach the first finished run (and its adapter) to each round still without one."""
    completed = sorted(list_runs(store, "completed"), key=lambda r: r.created_at)
    adapters = models.list_models(store, "adapter")
    taken = {r.run_id for r in rounds.list_rounds(store) if r.run_id}
    for open_round in (r for r in rounds.list_rounds(store) if r.model_id is None):
        try:
            parent = models.get_model(store, open_round.parent_model_id or "")
        except NotFoundError:
            continue
        for run in completed:
            if run.id in taken or run.created_at < open_round.created_at \
                    or not starts_from(run, parent):
                continue
            made = next((a for a in adapters if a.run_id == run.id), None)
            if made is not None:
                rounds.update_round(store, open_round.id, run_id=run.id, model_id=made.id,
                                    snapshot_id=run.snapshot_id, method=run.method)
                taken.add(run.id)
                break


def target_names(store: Store, model_id: str | None) -> list[str]:
    """Chat targets (the names Compare and Generate use) that run this model: its GGUFs, or
    base + its LoRA GGUF. The one the registry runs it as comes first (a round generates with
    it; :func:`studio.registry.gguf_resolve.resolve_gguf`)."""
    node = next((n for root in models.model_tree(store) for n in root.walk()
                 if n.entry.id == model_id), None) if model_id else None
    if node is None:
        return []
    ggufs = {n.entry.path for n in node.walk() if n.entry.kind == "gguf"}
    names = [label for label, path, lora in models.chat_targets(store) if (lora or path) in ggufs]
    try:
        first = resolve_gguf(store, node.entry.id).label
    except NoGGUFError:
        return names
    return sorted(names, key=lambda name: name != first)  # stable: the rest keep their order


def win_rate(store: Store, model_id: str | None, parent_id: str | None
             ) -> dict[str, Any] | None:
    for mine in target_names(store, model_id):
        for theirs in target_names(store, parent_id):
            found = rounds.blind_win_rate(store, mine, theirs)
            if found is not None:
                return found
    return None


def snapshot_text(store: Store, snapshot_id: str | None) -> str:
    if not snapshot_id:
        return ""
    try:
        counts = _json(store.db.table("snapshots").get(snapshot_id).get("counts"))
    except RowMissing:
        counts = {}
    return f"{snapshot_id[:18]} · {counts.get('train', 0)} train / {counts.get('eval', 0)} eval"


def snapshot_prompts(store: Store, snapshot_id: str | None) -> list[int]:
    """The prompts a snapshot's labels were made on (empty when unknown)."""
    if not snapshot_id:
        return []
    try:
        row = store.db.table("snapshots").get(snapshot_id)
        label_ids = load_manifest(row["path"]).get("label_ids") or []
    except (RowMissing, OSError, ValueError, StudioError):
        return []  # a snapshot folder deleted or moved: the caller offers all prompts
    found = {store.label(int(i)).prompt_id for i in label_ids}
    return sorted(found)


def round_rows(store: Store) -> list[RoundRow]:
    link_rounds(store)
    rows = []
    for item in rounds.list_rounds(store):
        metrics: dict[str, Any] = {}
        if item.run_id:
            metrics = next((r.metrics for r in list_runs(store) if r.id == item.run_id), {})
        accuracy = next((metrics[k] for k in ACCURACY_KEYS if metrics.get(k) is not None),
                        None)
        other = ", ".join(f"{k} {_fmt(v)}" for k, v in item.metrics.items())
        rows.append(RoundRow(item, _name(store, item.parent_model_id),
                             _name(store, item.model_id), snapshot_text(store, item.snapshot_id),
                             accuracy, win_rate(store, item.model_id, item.parent_model_id),
                             other))
    return rows


def _fmt(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _json(text: Any) -> dict[str, Any]:
    return json.loads(text) if isinstance(text, str) and text else {}


NEXT_STEPS = (
    "<b>Round {number}</b> starts from <b>{parent}</b>. Next steps: "
    "1) generate candidates from it here; "
    "2) label them on the <b>Label</b> page (Model filter: the model below; Pairwise with"
    " adjacent pairs, or Thumbs); "
    "3) export a snapshot and train on the <b>Train</b> page{adapter}; "
    "4) compare the new model with this one on the <b>Compare</b> page (blind). The Models"
    " page links the run to the round and shows its numbers."
)


SAMPLE_PROMPTS = 50  # round 1's default scope: enough candidates for an afternoon's labels


@dataclass(frozen=True)
class RoundPlan:
    """What starting a round would do, read before anything is created: its number, the
    model it starts from, who generates (that model's chat targets) and on which prompts."""

    number: int
    parent: models.ModelEntry
    targets: list[str]
    prompt_ids: list[int]  # the previous snapshot's prompts (empty: choose from all prompts)
    model_id: str | None = None  # round 1: start from this model
    previous_id: int | None = None  # a next round: start after this round

    @property
    def note(self) -> str:
        adapter = (f", setting <i>Continue from adapter</i> to {self.parent.path}"
                   if self.parent.kind == "adapter" else "")
        return NEXT_STEPS.format(number=self.number, parent=self.parent.name, adapter=adapter)

    def begin(self, store: Store) -> Round:
        """Create the round (when the person starts generating, not before)."""
        if self.previous_id is not None:
            return rounds.next_round(store, self.previous_id)
        return rounds.start_round(store, self.parent.id)


def plan_round(store: Store, model_id: str | None = None, previous_id: int | None = None
               ) -> RoundPlan:
    """Round 1 from ``model_id``, or the round after ``previous_id``: nothing is written."""
    if previous_id is not None:
        previous = rounds.get_round(store, previous_id)
        if previous.model_id is None:
            raise NotFoundError(f"round {previous.number} has no trained model yet")
        parent = models.get_model(store, previous.model_id)
        return RoundPlan(previous.number + 1, parent, target_names(store, parent.id),
                         snapshot_prompts(store, previous.snapshot_id), previous_id=previous_id)
    parent = models.get_model(store, model_id or "")
    return RoundPlan(1, parent, target_names(store, parent.id), [], model_id=parent.id)


def sample_prompts(ids: list[int], size: int = SAMPLE_PROMPTS, seed: int = 0) -> list[int]:
    """A fixed random subset of ``ids`` (all of them when there are few), in id order."""
    if len(ids) <= size:
        return list(ids)
    return sorted(random.Random(seed).sample(ids, size))
