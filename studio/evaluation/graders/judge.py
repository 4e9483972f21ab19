"""``judge:MODEL_ID``: a registered model's GGUF judges each response against a rubric.

The model runs through llama.cpp in a child process (``backends.eval_judge``), never in the
caller's: a batch of responses is one job, so the model is loaded once per batch. Inside a
backend that can load llama.cpp itself (the eval job), ``local`` is set to an in-process judge
instead, again loaded once. Its grades are machine-made and say so in their reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from studio.errors import StudioError
from studio.evaluation.graders.base import Grade, Grader, leaves
from studio.jobs.launch import log_tail, run_foreground, write_job

JUDGE_MODULE = "eval_judge"
GRADES_FILE = "grades.jsonl"
DEFAULT_JUDGE_RUBRIC = (
    "You are a strict grader. A response passes when it answers the request correctly and"
    " completely, agrees with the reference answer when one is given, and follows every"
    " instruction about format."
)


class JudgeGraderError(StudioError):
    """The judge job could not grade (the model failed to load, the job crashed...)."""


@dataclass
class JudgeItem:
    prompt: str
    response: str
    reference: str | None = None


@dataclass
class JudgeGradeConfig:
    """A batch of responses for the judge to grade. Field help doubles as tooltips."""

    model_path: str = field(metadata={"help": "absolute path of the judge's GGUF file"})
    model_name: str = field(metadata={"help": "the judge's name, shown in each reason"})
    lora_path: str | None = field(
        default=None, metadata={"help": "absolute path of a LoRA GGUF on the judge, if any"})
    rubric: str = field(default=DEFAULT_JUDGE_RUBRIC,
                        metadata={"help": "what a passing response is; read before every item"})
    n_ctx: int = field(default=2048, metadata={
        "help": "the judge's context window; longer texts are cut to fit (and say so)"})
    threads: int = field(default=0, metadata={"help": "CPU threads (0: all cores)"})
    items: list[dict[str, str | None]] = field(
        default_factory=list, metadata={"help": "prompt, response, reference of each item"})


Local = Callable[[Sequence[JudgeItem]], list[Grade]]


class JudgeGrader(Grader):
    """An LLM judge with a rubric; ``score`` is the judge's P(yes), passing at 0.5."""

    machine_made = True

    def __init__(self, model_id: str, config: JudgeGradeConfig, jobs_root: Path):
        self.name = f"judge:{model_id}"
        self.model_id = model_id
        self.config = config
        self.jobs_root = Path(jobs_root)
        self.local: Local | None = None

    def score_batch(self, prompts: Sequence[str], responses: Sequence[str],
                    references: Sequence[str | None]) -> list[Grade]:
        items = [JudgeItem(p, r, ref) for p, r, ref in zip(prompts, responses, references,
                                                          strict=True)]
        grades = self.local(items) if self.local is not None else self._run_job(items)
        return [Grade(min(1.0, max(0.0, g.score)), g.reason) for g in grades]

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        return self.score_batch([prompt], [response], [reference])[0]

    def _run_job(self, items: Sequence[JudgeItem]) -> list[Grade]:
        config = JudgeGradeConfig(**{**asdict(self.config),
                                     "items": [asdict(item) for item in items]})
        job_dir = write_job(config, self.jobs_root, "judge-grade")
        last = run_foreground(JUDGE_MODULE, job_dir, lambda event: None)
        if last is None or last.event != "finished":
            why = last.get("message", last.event) if last else log_tail(job_dir, JUDGE_MODULE)
            raise JudgeGraderError(f"the judge {self.model_id} could not grade: {why}"
                                   f" (job folder {job_dir})")
        return read_grades(job_dir)


def read_grades(job_dir: Path) -> list[Grade]:
    lines = (job_dir / GRADES_FILE).read_text(encoding="utf-8").splitlines()
    return [Grade(float(row["score"]), str(row["reason"]))
            for row in (json.loads(line) for line in lines if line.strip())]


def judges_in(grader: Grader) -> list[JudgeGrader]:
    """Every judge inside a grader (combinations included), e.g. to give them one engine."""
    return [leaf for leaf in leaves(grader) if isinstance(leaf, JudgeGrader)]


def is_machine_made(grader: Grader) -> bool:
    return bool(judges_in(grader))
