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
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backends.lib.chat_template import ChatTemplateError, make_formatter, render
from backends.lib.jobs import StopFlag, make_job_parser, process_items, run_store_job
from studio.candidates.judge import JudgeConfig
from studio.db.store import Store
from studio.errors import StudioError
from studio.events import EventWriter

if TYPE_CHECKING:
    from llama_cpp.llama_types import ChatCompletionRequestMessage


# Room kept for the " […]" mark of each cut part and for tokens merging at its edges.
CUT_MARGIN_TOKENS = 8
MIN_PART_TOKENS = 16  # below this a cut answer says too little to judge
CUT_MARK = " […]"


class JudgeContextError(StudioError):
    """The rubric and question alone leave no room for the texts in the judge's context."""


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser(__doc__.splitlines()[0])


def allot(lengths: list[int], budget: int) -> list[int]:
    """Token caps per part within ``budget``: short parts keep all, long ones share the rest."""
    caps = [0] * len(lengths)
    remaining = budget
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    for position, index in enumerate(order):
        caps[index] = min(lengths[index], remaining // (len(order) - position))
        remaining -= caps[index]
    return caps


class Judge:
    """Asks the model a two-way question and returns P(first answer)."""

    def __init__(self, config: JudgeConfig):
        from backends.chat import open_llama

        self.llm = open_llama(config.model_path, config.lora_path, n_ctx=config.n_ctx,
                              n_threads=config.threads or None, verbose=False)
        meta = self.llm.metadata
        eos = self.llm.detokenize([self.llm.token_eos()], special=True).decode(errors="replace")
        try:
            self.formatter, _ = make_formatter(meta.get("tokenizer.chat_template"), eos=eos,
                                               bos="", stop_ids=None)
        except ChatTemplateError as error:
            self.llm.close()
            raise ChatTemplateError(f"{config.model_path}: {error}") from error
        self.rubric = config.rubric

    def _prompt_tokens(self, question: str) -> list[int]:
        messages: list[ChatCompletionRequestMessage] = [
            {"role": "system", "content": self.rubric},
            {"role": "user", "content": question}]
        prompt = render(self.formatter, messages).prompt
        return list(self.llm.tokenize(prompt.encode(), add_bos=False, special=True))

    def fit(self, build: Callable[..., str], parts: list[str]) -> tuple[str, bool]:
        """The question ``build(*parts)``, its parts cut so it fits the context; and whether
        any was cut. A prompt longer than the context used to fail the whole job with "index
        557 is out of bounds for axis 0 with size 512"."""
        empty = len(self._prompt_tokens(build(*[""] * len(parts))))
        budget = self.llm.n_ctx() - empty - CUT_MARGIN_TOKENS * len(parts)
        if budget < MIN_PART_TOKENS * len(parts):
            raise JudgeContextError(
                f"the rubric and question take {empty} of the judge's {self.llm.n_ctx()}"
                " context tokens, leaving no room for the texts; shorten the rubric or raise"
                " the context window (n_ctx)")
        tokenized = [self.llm.tokenize(p.encode(), add_bos=False, special=False) for p in parts]
        caps = allot([len(t) for t in tokenized], budget)
        if all(len(t) <= cap for t, cap in zip(tokenized, caps, strict=True)):
            return build(*parts), False
        cut = [part if len(tokens) <= cap else
               self.llm.detokenize(tokens[:cap]).decode(errors="ignore") + CUT_MARK
               for part, tokens, cap in zip(parts, tokenized, caps, strict=True)]
        return build(*cut), True

    def probability(self, question: str, first: str, second: str) -> float:
        tokens = self._prompt_tokens(question)
        if len(tokens) > self.llm.n_ctx():
            raise JudgeContextError(f"a question of {len(tokens)} tokens does not fit the"
                                    f" judge's {self.llm.n_ctx()}-token context")
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


def cut_note(cut: bool, judge: Judge) -> str:
    return f" · texts cut to fit the {judge.llm.n_ctx()}-token context" if cut else ""


def judge_thumb(judge: Judge, store: Store, config: JudgeConfig, response_id: int) -> Any:
    response = store.response(response_id)
    question, cut = judge.fit(thumb_question, [store.prompt(response.prompt_id).text,
                                               response.text])
    p_yes = judge.probability(question, "yes", "no")
    return store.label_thumb(response_id, "up" if p_yes >= 0.5 else "down", config.annotator,
                             reason=f"p(yes)={p_yes:.2f}{cut_note(cut, judge)}",
                             source="judge", annotator_kind="judge")


def judge_pair(judge: Judge, store: Store, config: JudgeConfig, pair: list[int]) -> Any:
    first, second = (store.response(rid) for rid in pair)
    prompt = store.prompt(first.prompt_id).text
    question, cut = judge.fit(pair_question, [prompt, first.text, second.text])
    swapped, _ = judge.fit(pair_question, [prompt, second.text, first.text])
    p_first = judge.probability(question, "A", "B")
    p_second_swapped = judge.probability(swapped, "A", "B")
    score = (p_first + (1.0 - p_second_swapped)) / 2  # P(first is better), order-free
    if abs(score - 0.5) < config.tie_margin:
        value = "tie"
    else:
        value = "left" if score > 0.5 else "right"
    return store.label_pair(first.id, second.id, value, config.annotator,
                            reason=f"p(first better)={score:.2f}{cut_note(cut, judge)}",
                            source="judge",
                            annotator_kind="judge")


def run_job(config: JudgeConfig, store: Store, events: EventWriter, flag: StopFlag) -> None:
    items: list[Any] = list(config.response_ids if config.kind == "thumb" else config.pairs)
    events.emit("progress", stage="load", message=f"loading judge {config.model_name}",
                done=0, total=len(items))
    judge = Judge(config)
    start = time.monotonic()

    def judge_item(item: Any) -> None:
        try:
            if config.kind == "thumb":
                judge_thumb(judge, store, config, item)
            else:
                judge_pair(judge, store, config, item)
        except ChatTemplateError as error:  # this item only: the others are still judged
            events.emit("progress", stage="judge", message=f"item {item}: {error}")

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
