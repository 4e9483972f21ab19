"""Issue 21: eval sets generate in batches. Through transformers, a job's prompts are answered
8 at a time (left-padded greedy): the answers are the ones given one by one."""

from __future__ import annotations

from pathlib import Path

from backends.lib.eval_engines import BatchedAnswers, TransformersEngine
from studio.evaluation.jobs import EvalConfig

QUESTIONS = ["Hi", "What is the capital of France, and why is it there?", "Count: 1 2 3",
             "Write one word."]


def test_batched_answers_are_the_one_by_one_answers(demo_model_dir: Path) -> None:
    config = EvalConfig(db="", set_name="s", model_id="m", model_path=str(demo_model_dir),
                        engine="transformers", max_new_tokens=8)
    engine = TransformersEngine(config)
    conversations = [[{"role": "user", "content": q}] for q in QUESTIONS]
    one_by_one = [engine.answer(messages).strip() for messages in conversations]
    batched = BatchedAnswers(engine, conversations, size=3)
    assert [batched.answer(i).strip() for i in range(len(QUESTIONS))] == one_by_one
    assert batched.ready == {}  # nothing generated twice or left over
    engine.close()
