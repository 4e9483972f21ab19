"""Which labels a run trains on: its scope, in the vocabulary of GRPO's prompts.

- ``mine``: the labels a person made in the app (keys on the Label page, Compare votes,
  accepted judge suggestions), never imported ones.
- ``all``: every label that counts (the derivation rules of :mod:`studio.data.derive`).
- a tag or a source (``import:file.json``): the labels on the prompts that carry it.
- ``evalset:NAME``: the eval set's training counterpart; the caller resolves its prompt ids
  (:func:`studio.training.grpo.counterpart_ids`), since datasets never import training.

A scope filters the labels before the derivation, so a pair derived from two thumbs counts
only when both thumbs are in scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from studio.db.records import Label
from studio.db.store import Store
from studio.errors import EmptyDatasetError

MINE = "mine"
ALL = "all"
EVALSET = "evalset:"
# Kinds of annotator whose labels a person made here; "import" labels came with a file.
MADE_HERE = frozenset({"human", "judge"})  # judge labels count only once accepted


def made_here(label: Label) -> bool:
    """A label the person made in the app (an accepted judge suggestion is theirs too)."""
    return label.annotator_kind in MADE_HERE


def tagged_or_sourced(store: Store, selector: str) -> list[int]:
    """Ids of the prompts whose source is ``selector`` or that carry it as a tag."""
    rows = store.db.execute(
        "SELECT id FROM prompts WHERE source = ? OR EXISTS (SELECT 1 FROM"
        " json_each(prompts.tags) WHERE value = ?) ORDER BY id", [selector, selector]
    ).fetchall()
    return [int(row[0]) for row in rows]


@dataclass(frozen=True)
class LabelScope:
    """A resolved scope: ``prompt_ids`` None means every prompt."""

    selector: str = ALL
    prompt_ids: frozenset[int] | None = None

    @property
    def mine(self) -> bool:
        return self.selector == MINE

    def keep(self, label: Label) -> bool:
        if self.mine:
            return made_here(label)
        return self.prompt_ids is None or label.prompt_id in self.prompt_ids


def resolve_scope(store: Store, selector: str | None,
                  prompt_ids: Iterable[int] | None = None) -> LabelScope:
    """The scope a selector names; ``prompt_ids`` are an ``evalset:`` selector's prompts."""
    selector = (selector or ALL).strip() or ALL
    if selector in (ALL, MINE):
        return LabelScope(selector)
    if prompt_ids is not None:
        return LabelScope(selector, frozenset(prompt_ids))
    if selector.startswith(EVALSET):
        raise EmptyDatasetError(f"scope {selector}: resolve the eval set's prompts first")
    found = tagged_or_sourced(store, selector)
    if not found:
        raise EmptyDatasetError(f"no prompt has a tag or source named {selector!r}; use mine,"
                                " all, a tag or a source such as import:file.json")
    return LabelScope(selector, frozenset(found))


def scoped_labels(store: Store, scope: LabelScope) -> list[Label]:
    """The labels that count (latest per annotator and target) within the scope."""
    return [label for label in store.current_labels() if scope.keep(label)]
