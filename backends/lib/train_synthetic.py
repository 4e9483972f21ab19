"""A synthetic labeling task with a programmatic check, for tests, benchmarks and demos.

Every prompt asks for the colour of a thing; a good answer follows the fixed format
``ANSWER: <colour>.`` and a bad one rambles. :func:`populate` writes prompts, responses and
labels into a store the way a person would (gold edits, pairwise choices, thumbs), so the
studio's own derive → snapshot → train pipeline can be measured on it: SFT should raise
:func:`format_ok`'s pass rate, DPO/KTO the held-out reward accuracy.
"""

from __future__ import annotations

import random
import re

from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.paths import DataPaths
from studio.training.config import TrainConfig
from studio.training.runs import Run, create_run

THINGS = ("sky", "grass", "snow", "coal", "sun", "blood", "sea", "leaf", "milk", "ink",
          "rose", "lemon", "cloud", "night", "fire", "ice", "sand", "plum", "mint", "ash",
          "rust", "gold", "wine", "moss", "pearl", "stone", "cream", "lime", "salt", "smoke",
          "olive", "cherry", "peach", "steel", "slate", "coral", "amber", "jade", "cocoa",
          "honey", "frost", "ruby", "denim", "ivory", "storm", "brick", "moon", "clay")
COLOURS = ("blue", "green", "white", "black", "yellow", "red", "grey", "brown", "pink", "purple")
ANSWER = re.compile(r"ANSWER: [a-z]+\.")
ANNOTATOR = "synthetic"


def good_answer(colour: str) -> str:
    return f"ANSWER: {colour}."


def bad_answer(rng: random.Random, colour: str) -> str:
    return rng.choice((f"hmm, maybe {colour} or so", f"i think it is {colour}",
                       f"{colour}, probably", f"well it could be {colour} i guess"))


def format_ok(text: str) -> bool:
    """The programmatic check: the reply is exactly one ``ANSWER: <word>.`` line."""
    return ANSWER.fullmatch(text.strip()) is not None


def prompts(count: int) -> list[tuple[str, str]]:
    """(question, colour) pairs; deterministic."""
    rng = random.Random(1)
    items = []
    for index in range(count):
        thing = THINGS[index % len(THINGS)]
        suffix = "" if index < len(THINGS) else f" number {index // len(THINGS)}"
        items.append((f"What colour is the {thing}{suffix}?", rng.choice(COLOURS)))
    return items


def populate(store: Store, count: int = 48, seed: int = 0) -> None:
    """Label ``count`` prompts: a gold answer, a pairwise choice and thumbs on each."""
    rng = random.Random(seed)
    with store.atomic():
        for question, colour in prompts(count):
            prompt_id = store.add_prompt(question, source="synthetic")
            bad = store.add_response(prompt_id, bad_answer(rng, colour), origin="model")
            gold = store.label_gold(prompt_id, good_answer(colour), ANNOTATOR)
            good = gold.response_id or 0
            left, right = (good, bad) if rng.random() < 0.5 else (bad, good)
            store.label_pair(left, right, "left" if left == good else "right", ANNOTATOR)
            store.label_thumb(good, "up", ANNOTATOR)
            store.label_thumb(bad, "down", ANNOTATOR)


def synthetic_run_config(method: str, model: str, **overrides: object) -> TrainConfig:
    """A small, fast config for the synthetic task (tests and benchmarks)."""
    values: dict[str, object] = {"max_steps": 4, "max_length": 64, "eval_steps": 2,
                                 "lora_r": 8, "lora_alpha": 16, **overrides}
    return TrainConfig.for_method(method, model, "quick", **values)


def synthetic_run(store: Store, paths: DataPaths, method: str, model: str,
                  eval_fraction: float = 0.2, **overrides: object) -> Run:
    """Snapshot the store's labels for ``method`` and register a queued run on them."""
    snapshot = export_snapshot(store, method, paths.snapshots / method, eval_fraction)
    return create_run(store, paths, synthetic_run_config(method, model, **overrides),
                      snapshot.path)
