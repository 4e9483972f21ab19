"""Votes from the Compare page become preference data, and blind votes become win-rates.

A vote stores the conversation as a prompt, both replies as model responses (the model's name
on each), and one pairwise label with source ``compare`` and the sides as shown: the same DPO
data the Label page makes. An edited winner is stored as a gold response too (SFT data). Which
votes were blind is kept in ``compare_votes``; :func:`win_rates` counts only those, with a 95%
Wilson interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studio.db.records import Label, now_iso
from studio.db.store import Store
from studio.errors import InvalidLabelError
from studio.evaluation.report import wilson
from studio.registry import models
from studio.registry.gguf_resolve import NoGGUFError, resolve_gguf

SOURCE = "compare"
# What the person clicks → the stored pair value (A is the left pane, B the right).
VOTES = {"a": "left", "b": "right", "tie": "tie", "both_bad": "both_bad"}


@dataclass(frozen=True)
class Reply:
    """One pane's reply: its text, the model that wrote it, and the sampling settings."""

    text: str
    model: str
    gen_params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Vote:
    label: Label
    left_id: int
    right_id: int
    prompt_id: int
    gold: Label | None = None


def record_vote(
    store: Store, conversation: list[dict[str, str]], left: Reply, right: Reply, vote: str,
    annotator: str, blind: bool, swapped: bool = False, edited_winner: str | None = None,
) -> Vote:
    """Store one vote as a pair label (and the edited winner as gold), in one transaction.

    ``conversation`` is what both models answered: the messages up to the last user turn,
    a system message first if any. ``swapped`` records that blind mode put the models on
    the sides opposite to the pickers.
    """
    if vote not in VOTES:
        raise InvalidLabelError(f"a vote is one of {', '.join(VOTES)}, not {vote!r}")
    if not conversation or conversation[-1].get("role") != "user":
        raise InvalidLabelError("a compared conversation ends with the user's turn")
    if left.text == right.text:
        raise InvalidLabelError("both replies are identical: there is nothing to prefer")
    system = conversation[0]["content"] if conversation[0].get("role") == "system" else None
    messages = conversation[1:] if system is not None else conversation
    with store.atomic():
        prompt_id = store.add_prompt(messages, system=system, source=SOURCE)
        left_id, right_id = (
            store.add_response(prompt_id, reply.text, origin="model", model=reply.model,
                               gen_params=reply.gen_params or None, source=SOURCE)
            for reply in (left, right))
        label = store.label_pair(left_id, right_id, VOTES[vote], annotator, source=SOURCE)
        store.db.table("compare_votes").insert({
            "label_id": label.id, "target": label.target, "blind": int(blind),
            "swapped": int(swapped), "created_at": now_iso()})
        gold = None
        if edited_winner is not None and vote in ("a", "b"):
            winner = left_id if vote == "a" else right_id
            if edited_winner.strip() and edited_winner != store.response(winner).text:
                gold = store.label_gold(prompt_id, edited_winner, annotator, parent_id=winner,
                                        source=SOURCE)
    return Vote(label, left_id, right_id, prompt_id, gold)


@dataclass(frozen=True)
class PairStats:
    """Blind votes between two models (``model_a`` sorts first)."""

    model_a: str
    model_b: str
    wins_a: int = 0
    wins_b: int = 0
    ties: int = 0
    both_bad: int = 0

    @property
    def votes(self) -> int:
        return self.wins_a + self.wins_b + self.ties + self.both_bad

    @property
    def decisive(self) -> int:
        return self.wins_a + self.wins_b

    @property
    def win_rate_a(self) -> float | None:
        """Share of decisive votes won by ``model_a`` (ties and both-bad are counted apart)."""
        return self.wins_a / self.decisive if self.decisive else None

    @property
    def interval_a(self) -> tuple[float, float]:
        interval = wilson(self.wins_a, self.decisive)
        return interval.low, interval.high

    def describe(self) -> str:
        if not self.decisive:
            return f"{self.model_a} vs {self.model_b}: no decisive vote yet ({self.votes} votes)"
        low, high = self.interval_a
        return (f"{self.model_a} wins {self.win_rate_a:.0%} (95% CI {low:.0%} to {high:.0%}) of"
                f" {self.decisive} decisive votes vs {self.model_b};"
                f" {self.ties} ties, {self.both_bad} both bad")


def win_rates(store: Store, blind_only: bool = True) -> list[PairStats]:
    """Per model pair, the standing Compare votes (undone ones excluded), blind ones only."""
    blind_by_target = {row["target"]: bool(row["blind"]) for row in store.db.query(
        "SELECT target, blind FROM compare_votes ORDER BY label_id")}
    labels = [lb for lb in store.current_labels(kind="pair") if lb.source == SOURCE
              and lb.target in blind_by_target
              and (blind_by_target[lb.target] or not blind_only)]
    responses = store.responses_by_id(
        i for lb in labels for i in (lb.left_id, lb.right_id) if i is not None)
    tallies: dict[tuple[str, str], dict[str, int]] = {}
    for label in labels:
        left = responses[label.left_id].model or "?"  # type: ignore[index]
        right = responses[label.right_id].model or "?"  # type: ignore[index]
        if left == right:
            continue
        key = (min(left, right), max(left, right))
        tally = tallies.setdefault(key, {"a": 0, "b": 0, "tie": 0, "both_bad": 0})
        if label.value in ("tie", "both_bad"):
            tally[label.value] += 1
        else:
            winner = left if label.value == "left" else right
            tally["a" if winner == key[0] else "b"] += 1
    return [PairStats(a, b, t["a"], t["b"], t["tie"], t["both_bad"])
            for (a, b), t in sorted(tallies.items())]


Target = tuple[str, str, str | None]  # label, model GGUF, LoRA GGUF


def compare_targets(store: Store) -> tuple[list[Target], tuple[int, int] | None]:
    """What the panes can load (:func:`studio.registry.models.chat_targets`), and the default
    pair: (its base model, the newest tuned one).

    Tuned means a GGUF with an adapter in its lineage (a merged export, or an adapter-only GGUF
    run on its parent's GGUF); the newest is the last registered. Both sides run the way
    :func:`studio.registry.gguf_resolve.resolve_gguf` runs them, so the partner is the base's
    preferred GGUF (F16 first). ``None`` when the registry holds no such pair.
    """
    targets = models.chat_targets(store)
    index = {(path, lora): i for i, (_, path, lora) in enumerate(targets)}
    for entry in reversed(models.list_models(store, "gguf")):
        chain = models.lineage(store, entry.id)
        if not any(e.kind == "adapter" for e in chain):
            continue
        tuned = _target_index(store, entry.id, index)
        if tuned is None:
            continue  # not chat-ready (its file or its parent's GGUF is gone)
        base = _target_index(store, chain[0].id, index)
        return targets, ((base, tuned) if base is not None else None)
    return targets, None


def _target_index(store: Store, model_id: str,
                  index: dict[tuple[str, str | None], int]) -> int | None:
    """Where the target that runs ``model_id`` sits among the chat targets."""
    try:
        found = resolve_gguf(store, model_id)
    except NoGGUFError:
        return None
    return index.get((found.model_path, found.lora_path))
