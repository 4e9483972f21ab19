"""From label events to training examples: the documented derivation rules.

Rules (the README repeats them):

1. **What counts.** Per annotator and target, the latest event counts; undone labels don't.
   Judge labels count only once accepted.
2. **Conflicts.** Where annotators disagree on a target, the majority wins; an even split
   drops the target (it appears in the export's ``conflicts`` count).
3. **SFT** (``messages``): every gold response, plus every response with a thumbs-up.
4. **DPO** (``prompt``/``chosen``/``rejected``): every decisive pairwise judgement (ties and
   both-bad are left out), a gold response over the response it was edited from, and every
   thumbs-up response over every thumbs-down response to the same prompt. An explicit
   pairwise judgement overrules a derived pair that says the opposite; two derived pairs that
   contradict each other are both dropped.
5. **KTO** (``prompt``/``completion``/``label``): thumbs up are desirable, thumbs down are
   undesirable, and gold responses are desirable unless a thumb on them says otherwise.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from studio.db.records import Label
from studio.db.store import Store


@dataclass(frozen=True)
class Outcome:
    """The resolved verdict on one target, with the label events that support it."""

    kind: str
    prompt_id: int
    value: str  # thumb: up/down; gold: gold; pair: "<chosen>>r<rejected>", tie, both_bad
    label_ids: tuple[int, ...]
    response_id: int | None = None
    parent_id: int | None = None


@dataclass
class Derivation:
    """Training examples as response ids, before any text is looked up."""

    sft: list[tuple[int, int, tuple[int, ...]]] = field(default_factory=list)
    dpo: list[tuple[int, int, int, tuple[int, ...]]] = field(default_factory=list)
    kto: list[tuple[int, int, bool, tuple[int, ...]]] = field(default_factory=list)
    conflicts: int = 0


def _verdict(label: Label) -> str:
    pair = label.chosen_rejected
    if pair is not None:
        return f"{pair[0]}>{pair[1]}"
    return label.value


def resolve(labels: list[Label]) -> tuple[list[Outcome], int]:
    """Majority vote per target across annotators; returns outcomes and the conflict count."""
    by_target: dict[str, list[Label]] = defaultdict(list)
    for label in labels:
        by_target[label.target].append(label)
    outcomes, conflicts = [], 0
    for target_labels in by_target.values():
        votes = Counter(_verdict(label) for label in target_labels)
        ranked = votes.most_common(2)
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            conflicts += 1
            continue
        winner = ranked[0][0]
        support = [label for label in target_labels if _verdict(label) == winner]
        first = support[0]
        outcomes.append(Outcome(
            kind=first.kind, prompt_id=first.prompt_id, value=winner,
            label_ids=tuple(sorted(label.id for label in support)),
            response_id=first.response_id, parent_id=first.parent_id,
        ))
    return outcomes, conflicts


def derive(store: Store, include_thumbs_up_in_sft: bool = True,
           labels: list[Label] | None = None) -> Derivation:
    """The training examples of ``labels`` (default: every label that counts)."""
    return derive_from(store.current_labels() if labels is None else labels,
                       include_thumbs_up_in_sft)


def derive_from(labels: list[Label], include_thumbs_up_in_sft: bool = True) -> Derivation:
    """The examples these labels give. Every rule stays within one prompt, so the examples of
    a set of prompts are the union of each prompt's (readiness relies on that)."""
    outcomes, conflicts = resolve(labels)
    result = Derivation(conflicts=conflicts)
    thumbs = [o for o in outcomes if o.kind == "thumb"]
    golds = [o for o in outcomes if o.kind == "gold"]
    for gold in golds:
        result.sft.append((gold.prompt_id, gold.response_id or 0, gold.label_ids))
    if include_thumbs_up_in_sft:
        gold_ids = {gold.response_id for gold in golds}
        result.sft.extend((t.prompt_id, t.response_id or 0, t.label_ids) for t in thumbs
                          if t.value == "up" and t.response_id not in gold_ids)
    result.dpo = _dpo_pairs(outcomes, thumbs, golds)
    result.kto = _kto_items(thumbs, golds)
    return result


def _dpo_pairs(outcomes: list[Outcome], thumbs: list[Outcome], golds: list[Outcome]
               ) -> list[tuple[int, int, int, tuple[int, ...]]]:
    explicit: dict[tuple[int, int], tuple[int, tuple[int, ...]]] = {}
    for outcome in outcomes:
        if outcome.kind == "pair" and ">" in outcome.value:
            chosen, rejected = (int(part) for part in outcome.value.split(">"))
            explicit[(chosen, rejected)] = (outcome.prompt_id, outcome.label_ids)
    derived: dict[tuple[int, int], tuple[int, tuple[int, ...]]] = {}
    for gold in golds:
        if gold.parent_id is not None and gold.response_id != gold.parent_id:
            derived[(gold.response_id or 0, gold.parent_id)] = (gold.prompt_id, gold.label_ids)
    by_prompt: dict[int, dict[str, list[Outcome]]] = defaultdict(lambda: defaultdict(list))
    for thumb in thumbs:
        by_prompt[thumb.prompt_id][thumb.value].append(thumb)
    for prompt_id, sides in by_prompt.items():
        for up in sides["up"]:
            for down in sides["down"]:
                key = (up.response_id or 0, down.response_id or 0)
                derived.setdefault(key, (prompt_id, up.label_ids + down.label_ids))
    pairs = dict(explicit)
    for (chosen, rejected), value in derived.items():
        if (rejected, chosen) in explicit:
            continue  # a person compared them directly and said the opposite
        if (rejected, chosen) in derived:
            continue  # two derived pairs contradict each other: trust neither
        pairs.setdefault((chosen, rejected), value)
    return [(pid, c, r, ids) for (c, r), (pid, ids) in sorted(pairs.items())]


def _kto_items(thumbs: list[Outcome], golds: list[Outcome]
               ) -> list[tuple[int, int, bool, tuple[int, ...]]]:
    items: dict[int, tuple[int, int, bool, tuple[int, ...]]] = {}
    for gold in golds:
        items[gold.response_id or 0] = (gold.prompt_id, gold.response_id or 0, True,
                                        gold.label_ids)
    for thumb in thumbs:  # a thumb on a gold response is the more direct verdict
        items[thumb.response_id or 0] = (thumb.prompt_id, thumb.response_id or 0,
                                         thumb.value == "up", thumb.label_ids)
    return [items[key] for key in sorted(items)]
