"""Grade responses with an LLM judge (the ``judge:MODEL_ID`` grader).

    python -m backends.eval_judge --job-dir DIR

Reads ``DIR/config.json`` (``studio.evaluation.graders.judge.JudgeGradeConfig``), loads the
judge's GGUF once through llama.cpp and appends one grade per item to ``DIR/grades.jsonl``.
The score is the judge's next-token P("yes") against P("no") (deterministic, as for judge
pre-labels); texts longer than the context are cut to fit, and the reason says so.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from backends.judge import Judge, cut_note
from backends.lib.jobs import StopFlag, make_job_parser, process_items, run_job
from studio.candidates.judge import JudgeConfig
from studio.evaluation.graders.base import Grade
from studio.evaluation.graders.judge import GRADES_FILE, JudgeGradeConfig, JudgeItem
from studio.events import EventWriter
from studio.jobs.config import load_config


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser(__doc__.splitlines()[0])


def grade_question(prompt: str, response: str, reference: str = "") -> str:
    shown = f"\n\nReference answer:\n{reference}" if reference else ""
    return (f"Request:\n{prompt}{shown}\n\nResponse:\n{response}\n\nDoes this response pass"
            " by the rubric? Answer yes or no.")


class LocalJudge:
    """The judge model loaded once in this process; called with batches of items."""

    def __init__(self, config: JudgeGradeConfig) -> None:
        self.name = config.model_name
        self.judge = Judge(JudgeConfig(model_path=config.model_path, model_name=config.model_name,
                                       rubric=config.rubric, lora_path=config.lora_path,
                                       n_ctx=config.n_ctx, threads=config.threads))

    def grade(self, item: JudgeItem) -> Grade:
        parts = [item.prompt, item.response] + ([item.reference] if item.reference else [])
        question, cut = self.judge.fit(grade_question, parts)
        p_yes = self.judge.probability(question, "yes", "no")
        return Grade(p_yes, f"judge {self.name}: p(yes)={p_yes:.2f}, machine-made"
                     f"{cut_note(cut, self.judge)}")

    def __call__(self, items: Sequence[JudgeItem]) -> list[Grade]:
        return [self.grade(item) for item in items]

    def close(self) -> None:
        self.judge.close()


def work(job_dir: Path, events: EventWriter, flag: StopFlag) -> None:
    config = load_config(JudgeGradeConfig, job_dir)
    items = [JudgeItem(str(i["prompt"] or ""), str(i["response"] or ""), i.get("reference"))
             for i in config.items]
    events.emit("progress", stage="load", message=f"loading judge {config.model_name}",
                done=0, total=len(items))
    judge = LocalJudge(config)
    out = job_dir / GRADES_FILE

    def grade(item: JudgeItem) -> None:
        found = judge.grade(item)
        with out.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"score": found.score, "reason": found.reason}) + "\n")

    try:
        if process_items(items, grade, events, flag, "judge", "graded"):
            events.emit("finished", graded=len(items))
    finally:
        judge.close()


def main(args: argparse.Namespace) -> int:
    return run_job(args, "eval_judge", work)


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
