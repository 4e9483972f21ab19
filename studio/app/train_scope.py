"""Which labels a run trains on (``--from`` / the Train page's "Train on"): the choices, the
default, and the count it will train on with the reason for it.

Once the person has made enough labels of their own for the method, ``mine`` is the default:
an imported set teaches its own style (on a 2-core CPU a person's 48 labels drowned in 1,390
imported examples, and the default preset would have run 38 hours); their own labels say what
they want. Below that the default is ``all``, and the reason says how many of their own there
are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.data.derive import Derivation, derive
from studio.data.readiness import totals
from studio.data.scope import ALL, EVALSET, MADE_HERE, MINE, LabelScope, resolve_scope
from studio.db.store import Store
from studio.training.config import DATA_KIND
from studio.training.grpo import counterpart_ids, prompt_choices

# Enough of a person's own examples for a run that teaches: 33 rule-following answers (SFT)
# or pairs (DPO) or thumbs (KTO) each took SmolLM2-135M from 0/17 to 17/17 held-out
# (bench/results/2026-12-03-real-*-efficacy.txt); 20 leaves a margin below that.
ENOUGH_MINE = 20
WHAT = {"sft": "good answers", "dpo": "preference pairs", "kto": "thumbs"}


@dataclass(frozen=True)
class ScopeChoice:
    """What a run will train on: the selector, its example count, and why this scope."""

    selector: str
    count: int
    why: str
    default: str


def label_scope(store: Store, selector: str) -> LabelScope:
    """A selector resolved to labels; ``evalset:NAME`` is the set's training counterpart."""
    if selector.startswith(EVALSET):
        return resolve_scope(store, selector, counterpart_ids(store, selector[len(EVALSET):]))
    return resolve_scope(store, selector)


def scope_choices(store: Store) -> list[str]:
    """``mine``, ``all``, the tags and sources of the stored prompts, then ``evalset:NAME``."""
    return [MINE, *prompt_choices(store)]


def _count(derivation: Derivation, kind: str) -> int:
    examples: dict[str, list[Any]] = {"sft": derivation.sft, "dpo": derivation.dpo,
                                      "kto": derivation.kto}
    return len(examples[kind])


def _own(store: Store, kind: str) -> int:
    """The examples of ``kind`` the person's own labels give (picked out in SQL: a handful
    among a million imported ones)."""
    return _count(derive(store, labels=store.current_labels(annotator_kinds=MADE_HERE)), kind)


def _every(store: Store, kind: str) -> int:
    """The examples of ``kind`` every label gives: the readiness sums, kept as labels are
    written (deriving a million labels again took most of a minute)."""
    found = totals(store)
    return {"sft": found.sft, "dpo": found.dpo, "kto": found.kto_up + found.kto_down}[kind]


def default_scope(store: Store, method: str) -> str:
    """``mine`` once the person's own labels give enough examples for the method, else
    ``all`` (GRPO: its prompts are chosen apart)."""
    kind = DATA_KIND[method]
    if kind == "grpo":
        return ALL
    return MINE if _own(store, kind) >= ENOUGH_MINE else ALL


def describe_scope(store: Store, method: str, selector: str = "") -> ScopeChoice:
    """The scope a run of ``method`` trains on (``selector`` empty: the default) and why.
    A read (the Train page runs it on the reader, so labels never wait for it); a tag or
    source scope reads every current label once."""
    kind = DATA_KIND[method]
    if kind == "grpo":
        return ScopeChoice(selector or ALL, 0, "GRPO practises on prompts, not labels.", ALL)
    mine = _own(store, kind)
    every = _every(store, kind)
    default = MINE if mine >= ENOUGH_MINE else ALL
    chosen = selector.strip() or default
    what = WHAT[kind]
    if chosen == MINE:
        count = mine
        why = (f"your own {mine:,} {what} (labels you made here; {every - mine:,} from imports"
               " left out)")
        if mine < ENOUGH_MINE:
            why += f"; fewer than {ENOUGH_MINE} rarely teach the model anything"
    elif chosen == ALL:
        count = every
        why = f"all {every:,} {what}, imported ones included"
        if default == ALL:
            why += (f"; your own labels give {mine:,}, and from {ENOUGH_MINE} on a run trains"
                    " on yours alone by default")
    else:
        scope = label_scope(store, chosen)
        count = _count(derive(store, labels=[lab for lab in store.current_labels()
                                             if scope.keep(lab)]), kind)
        why = f"the {count:,} {what} on prompts tagged or sourced {chosen!r}"
    return ScopeChoice(chosen, count, f"{kind.upper()} on {why}.", default)
