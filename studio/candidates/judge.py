"""LLM-as-judge pre-labels: suggestions from a model, never training data until accepted.

A judge scores single responses (thumbs) or pairs (both orders, to cancel position bias)
with an editable rubric. Its labels are stored with ``annotator_kind = 'judge'`` and the
annotator ``judge:<model name>``; exports leave them out until the person accepts them.
How far to trust a judge is measured against the human labels on shared items.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations, pairwise
from pathlib import Path

from studio.db.store import Store
from studio.errors import StudioError
from studio.jobs.config import load_config, save_config
from studio.labels.agreement import Agreement, answer, cohen_kappa

DEFAULT_RUBRIC = (
    "You are a strict reviewer. A good response answers the request directly, is correct,"
    " complete and concise, and follows every instruction about format."
)
JUDGE_KINDS = ("thumb", "pair")


class JudgeConfigError(StudioError):
    """A judge job that cannot run as configured."""


@dataclass
class JudgeConfig:
    """What to judge and how. Field help doubles as the UI's tooltips."""

    model_path: str = field(metadata={"help": "GGUF file of the judge model."})
    model_name: str = field(metadata={"help": "Judge name; its labels are 'judge:<name>'."})
    kind: str = field(default="thumb", metadata={
        "help": "thumb: score each response good/bad; pair: pick the better of two."})
    response_ids: list[int] = field(default_factory=list, metadata={
        "help": "Responses to score (thumb mode)."})
    pairs: list[list[int]] = field(default_factory=list, metadata={
        "help": "Response pairs to compare (pair mode); each is judged in both orders."})
    rubric: str = field(default=DEFAULT_RUBRIC, metadata={
        "help": "What a good response is; the judge reads it before every item."})
    tie_margin: float = field(default=0.1, metadata={
        "help": "Pairs whose order-averaged preference is within this of 0.5 become ties."})
    lora_path: str | None = field(default=None, metadata={"help": "Optional LoRA GGUF."})
    n_ctx: int = field(default=2048, metadata={"help": "Context window of the judge."})
    threads: int = field(default=0, metadata={"help": "CPU threads (0: all cores)."})
    db: str = field(default="", metadata={
        "help": "The studio database the judge's labels are stored in (an absolute path)."})

    @property
    def annotator(self) -> str:
        return f"judge:{self.model_name}"

    def validate(self) -> None:
        if self.kind not in JUDGE_KINDS:
            raise JudgeConfigError(f"judge kind is 'thumb' or 'pair', not {self.kind!r}")
        items = self.response_ids if self.kind == "thumb" else self.pairs
        if not items:
            raise JudgeConfigError("there is nothing to judge: pick responses or pairs")
        if not Path(self.model_path).is_file():
            raise JudgeConfigError(f"judge model file not found: {self.model_path}")
        if not self.rubric.strip():
            raise JudgeConfigError("the rubric is empty: say what a good response is")

    def save(self, folder: Path) -> Path:
        return save_config(self, folder)

    @classmethod
    def load(cls, folder: Path) -> JudgeConfig:
        return load_config(cls, folder)


def candidate_pairs(response_ids: list[int], pairing: str = "adjacent") -> list[list[int]]:
    """Pairs among one prompt's responses: all of them, or adjacent ones (linear in N)."""
    ordered = sorted(response_ids)
    if pairing == "all":
        return [list(pair) for pair in combinations(ordered, 2)]
    if pairing == "adjacent":
        return [[a, b] for a, b in pairwise(ordered)]
    raise JudgeConfigError(f"pairing is 'all' or 'adjacent', not {pairing!r}")


def pairs_for_prompts(store: Store, prompt_ids: list[int], pairing: str = "adjacent",
                      model: str | None = None) -> list[list[int]]:
    """Response pairs per prompt (optionally only among one model's candidates)."""
    pairs: list[list[int]] = []
    for prompt_id in prompt_ids:
        ids = [r.id for r in store.responses_for(prompt_id) if model is None or r.model == model]
        pairs.extend(candidate_pairs(ids, pairing))
    return pairs


def accept_judge_labels(store: Store, label_ids: list[int]) -> int:
    """Let these judge labels count as training data; returns how many were accepted."""
    with store.atomic():
        cursor = store.db.execute(
            f"UPDATE labels SET accepted = 1 WHERE annotator_kind = 'judge' AND id IN"
            f" ({','.join('?' * len(label_ids))})", label_ids,
        )
    return cursor.rowcount


def judge_agreement(store: Store, judge_annotator: str) -> list[Agreement]:
    """Per kind: how often the judge agrees with the people on items both labeled."""
    report = []
    for kind in JUDGE_KINDS:
        labels = store.current_labels(kind=kind, include_unaccepted_judge=True)
        judged = {lab.target: answer(lab) for lab in labels if lab.annotator == judge_annotator}
        humans: dict[str, str] = {}
        for label in labels:
            if label.annotator_kind == "human" and label.target in judged:
                humans.setdefault(label.target, answer(label))
        shared = sorted(humans)
        if not shared:
            continue
        first = [judged[t] for t in shared]
        second = [humans[t] for t in shared]
        observed = sum(a == b for a, b in zip(first, second, strict=True)) / len(shared)
        report.append(Agreement(kind, judge_annotator, "people", len(shared), observed,
                                cohen_kappa(first, second)))
    return report
