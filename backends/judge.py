"""Judge pre-labels: a GGUF model scores responses or pairs against a rubric.

    python -m backends.judge --job-dir DIR

Reads ``DIR/config.json`` (``studio.candidates.judge.JudgeConfig``). The judge answers a yes/no
(thumb) or A/B (pair) question; instead of sampling, its next-token probabilities of the two answers
are compared, which is deterministic and gives a confidence. Pairs are asked in both orders
and averaged, so a judge that always says "A" produces ties, not labels. Each verdict is
stored at once as a judge label; events go to ``DIR/events.jsonl``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backends.jobs import StopFlag, make_job_parser, process_items, run_store_job
from studio.candidates.judge import JudgeConfig
from studio.events import EventWriter
from studio.labels.store import Store

if TYPE_CHECKING:
    from llama_cpp.llama_types import ChatCompletionRequestMessage


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser(__doc__.splitlines()[0])


class Judge:
    """Asks the model a two-way question and returns P(first answer)."""

    def __init__(self, config: JudgeConfig):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        from backends.chat import open_llama

        self.llm = open_llama(config.model_path, config.lora_path, n_ctx=config.n_ctx,
                              n_threads=config.threads or None, verbose=False)
        meta = self.llm.metadata
        eos = self.llm.detokenize([self.llm.token_eos()], special=True).decode(errors="replace")
        self.formatter = Jinja2ChatFormatter(
            template=meta["tokenizer.chat_template"], eos_token=eos, bos_token="",
            add_generation_prompt=True)
        self.rubric = config.rubric

    def probability(self, question: str, first: str, second: str) -> float:
        messages: list[ChatCompletionRequestMessage] = [
            {"role": "system", "content": self.rubric},
            {"role": "user", "content": question}]
        prompt = self.formatter(messages=messages).prompt
        tokens = self.llm.tokenize(prompt.encode(), add_bos=False, special=True)
        self.llm.reset()
        self.llm.eval(tokens)
        logits = self.llm.scores[self.llm.n_tokens - 1]
        a = float(logits[self._first_token(first)])
        b = float(logits[self._first_token(second)])
        return 1.0 / (1.0 + math.exp(b - a))

    def _first_token(self, word: str) -> int:
        return int(self.llm.tokenize(word.encode(), add_bos=False, special=False)[0])

    def close(self) -> None:
        self.llm.close()


def thumb_question(prompt: str, response: str) -> str:
    return (f"Request:\n{prompt}\n\nResponse:\n{response}\n\nIs this response good by the"
            " rubric? Answer yes or no.")


def pair_question(prompt: str, first: str, second: str) -> str:
    return (f"Request:\n{prompt}\n\nResponse A:\n{first}\n\nResponse B:\n{second}\n\nWhich"
            " response is better by the rubric? Answer A or B.")


def judge_thumb(judge: Judge, store: Store, config: JudgeConfig, response_id: int) -> Any:
    response = store.response(response_id)
    p_yes = judge.probability(thumb_question(store.prompt(response.prompt_id).text,
                                             response.text), "yes", "no")
    return store.label_thumb(response_id, "up" if p_yes >= 0.5 else "down", config.annotator,
                             reason=f"p(yes)={p_yes:.2f}", source="judge",
                             annotator_kind="judge")


def judge_pair(judge: Judge, store: Store, config: JudgeConfig, pair: list[int]) -> Any:
    first, second = (store.response(rid) for rid in pair)
    prompt = store.prompt(first.prompt_id).text
    p_first = judge.probability(pair_question(prompt, first.text, second.text), "A", "B")
    p_second_swapped = judge.probability(pair_question(prompt, second.text, first.text),
                                         "A", "B")
    score = (p_first + (1.0 - p_second_swapped)) / 2  # P(first is better), order-free
    if abs(score - 0.5) < config.tie_margin:
        value = "tie"
    else:
        value = "left" if score > 0.5 else "right"
    return store.label_pair(first.id, second.id, value, config.annotator,
                            reason=f"p(first better)={score:.2f}", source="judge",
                            annotator_kind="judge")


def run_job(config: JudgeConfig, store: Store, events: EventWriter, flag: StopFlag) -> None:
    items: list[Any] = list(config.response_ids if config.kind == "thumb" else config.pairs)
    events.emit("progress", stage="load", message=f"loading judge {config.model_name}",
                done=0, total=len(items))
    judge = Judge(config)
    start = time.monotonic()

    def judge_item(item: Any) -> None:
        if config.kind == "thumb":
            judge_thumb(judge, store, config, item)
        else:
            judge_pair(judge, store, config, item)

    try:
        if process_items(items, judge_item, events, flag, "judge", "judged"):
            events.emit("finished", judged=len(items), wall_s=round(time.monotonic() - start, 2))
    finally:
        judge.close()


def work(job_dir: Path, store: Store, events: EventWriter, flag: StopFlag) -> None:
    config = JudgeConfig.load(job_dir)
    config.validate()
    run_job(config, store, events, flag)


def main(args: argparse.Namespace) -> int:
    return run_store_job(args, "judge", work)


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
