"""Agreement: Cohen's kappa between two annotators on the items both labeled, and each
annotator's self-agreement on items they labeled again blind (the queue's re-label sample).

Pairwise answers are compared by which response won, not by side: "left" on one showing and
"right" on a swapped showing of the same winner agree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations

from studio.db.records import Label
from studio.db.store import Store

KINDS = ("thumb", "pair")


@dataclass(frozen=True)
class Agreement:
    kind: str
    first: str
    second: str  # the same name for self-agreement
    items: int
    observed: float  # share of items with the same answer
    kappa: float | None  # None when chance agreement is total (one category only)


def cohen_kappa(first: list[str], second: list[str]) -> float | None:
    """Cohen's kappa of two equally long answer lists; None when it is undefined."""
    if len(first) != len(second):
        raise ValueError("kappa compares two answer lists of the same length")
    n = len(first)
    if n == 0:
        return None
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    count_a, count_b = Counter(first), Counter(second)
    expected = sum(count_a[c] * count_b[c] for c in count_a.keys() | count_b.keys()) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def answer(label: Label) -> str:
    """A label's answer in side-free terms."""
    pair = label.chosen_rejected
    return f"won:{pair[0]}" if pair is not None else label.value


def between_annotators(store: Store, humans_only: bool = True) -> list[Agreement]:
    """Kappa for every pair of annotators with shared items, per label kind."""
    report = []
    for kind in KINDS:
        by_annotator: dict[str, dict[str, str]] = defaultdict(dict)
        for label in store.current_labels(kind=kind, include_unaccepted_judge=True):
            if humans_only and label.annotator_kind != "human":
                continue
            by_annotator[label.annotator][label.target] = answer(label)
        for first, second in combinations(sorted(by_annotator), 2):
            shared = sorted(by_annotator[first].keys() & by_annotator[second].keys())
            if shared:
                a = [by_annotator[first][t] for t in shared]
                b = [by_annotator[second][t] for t in shared]
                report.append(_agreement(kind, first, second, a, b))
    return report


def self_agreement(store: Store) -> list[Agreement]:
    """Per annotator and kind: the blind re-label against the answer it replaced."""
    rows = store.db.execute(
        "SELECT l.id FROM relabels r JOIN labels l ON l.id = r.label_id"
        " WHERE NOT EXISTS (SELECT 1 FROM labels later WHERE later.target = l.target"
        " AND later.annotator = l.annotator AND later.id > l.id) ORDER BY l.id").fetchall()
    pairs: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for (label_id,) in rows:
        label = store.label(label_id)
        before = _answer_before(store, label)
        if before is not None and label.value != "retracted":
            first, second = pairs[(label.kind, label.annotator)]
            first.append(before)
            second.append(answer(label))
    return [_agreement(kind, name, name, a, b) for (kind, name), (a, b) in sorted(pairs.items())]


def mark_relabel(store: Store, label_id: int) -> None:
    """Record that a label event was a blind re-label."""
    with store.atomic():
        store.db.execute("INSERT OR IGNORE INTO relabels (label_id) VALUES (?)", [label_id])


def _answer_before(store: Store, label: Label) -> str | None:
    row = store.db.execute(
        "SELECT id FROM labels WHERE target = ? AND annotator = ? AND id < ? ORDER BY id DESC"
        " LIMIT 1", [label.target, label.annotator, label.id]).fetchone()
    if row is None:
        return None
    previous = store.label(int(row[0]))
    return None if previous.value == "retracted" else answer(previous)


def _agreement(kind: str, first: str, second: str, a: list[str], b: list[str]) -> Agreement:
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
    return Agreement(kind, first, second, len(a), observed, cohen_kappa(a, b))
