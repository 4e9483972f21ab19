"""Shorten over-long preference prompts from the left before TRL sees them.

TRL's DPO keeps a pair only when its prompt alone is shorter than ``max_length`` (it dropped
162 of 268 real pairs), and the ``truncation_mode="keep_end"`` that avoided that is deprecated
in TRL 1.x and removed in 2.0. It also cut each sequence on its own, so a pair's chosen and
rejected answers could see different amounts of their shared prompt. So the prompt is cut here,
once per pair, from its start (the oldest turns, then the start of the oldest remaining
message): both answers see the same, most recent context, and the pair is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_ROUNDS = 8  # re-render and re-measure; a cut at a token boundary may merge differently


@dataclass(frozen=True)
class Fitted:
    rows: list[dict[str, Any]]
    shortened: int  # pairs whose prompt was cut


def prompt_budget(max_length: int, longest_answer: int) -> int:
    """Tokens left for the prompt: room for the longer answer, but never under half the
    length (a longer answer has its end cut by TRL instead, as for any long sequence)."""
    return max(max_length - longest_answer, max_length // 2)


def fit_pairs(rows: list[dict[str, Any]], tokenizer: Any, max_length: int | None) -> Fitted:
    """``rows`` (prompt/chosen/rejected) with each prompt cut to fit ``max_length``."""
    if not max_length:
        return Fitted(rows, 0)
    out, shortened = [], 0
    for row in rows:
        prompt = row["prompt"]
        answer = max(_answer_length(tokenizer, prompt, row[key]) for key in ("chosen", "rejected"))
        cut = _cut(tokenizer, prompt, prompt_budget(max_length, answer))
        shortened += cut is not prompt
        out.append({**row, "prompt": cut})
    return Fitted(out, shortened)


def prompt_length(tokenizer: Any, prompt: Any) -> int:
    """Tokens of the prompt as TRL tokenizes it (with the generation prompt for a chat)."""
    if isinstance(prompt, str):
        return len(tokenizer(prompt)["input_ids"])
    return len(_chat_ids(tokenizer, prompt, add_generation_prompt=True))


def _answer_length(tokenizer: Any, prompt: Any, answer: Any) -> int:
    if isinstance(prompt, str):
        return len(tokenizer(prompt + answer)["input_ids"]) - prompt_length(tokenizer, prompt)
    whole = _chat_ids(tokenizer, prompt + answer, add_generation_prompt=False)
    return len(whole) - prompt_length(tokenizer, prompt)


def _chat_ids(tokenizer: Any, messages: list[dict[str, Any]],
              add_generation_prompt: bool) -> list[int]:
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=add_generation_prompt,
                                            tokenize=True, return_dict=True)
    return list(encoded["input_ids"])


def _cut(tokenizer: Any, prompt: Any, budget: int) -> Any:
    """``prompt`` itself when it fits, else a shortened copy (as short as it can get)."""
    excess = prompt_length(tokenizer, prompt) - budget
    if excess <= 0:
        return prompt
    if isinstance(prompt, str):
        return _cut_text(tokenizer, prompt, lambda text: text, budget)
    messages = _drop_oldest_turns(tokenizer, list(prompt), budget)
    if prompt_length(tokenizer, messages) <= budget:
        return messages
    # The oldest message left (after any system message) loses the start of its text.
    at = next((i for i, m in enumerate(messages) if m["role"] != "system"), len(messages) - 1)

    def rebuild(text: str) -> list[dict[str, Any]]:
        return [*messages[:at], {**messages[at], "content": text}, *messages[at + 1:]]

    return _cut_text(tokenizer, messages[at]["content"], rebuild, budget)


def _drop_oldest_turns(tokenizer: Any, messages: list[dict[str, Any]],
                       budget: int) -> list[dict[str, Any]]:
    """Drop whole turns from the start (system messages stay) while more than the last user
    message remains; a kept conversation still starts with a user turn."""
    system = [m for m in messages if m["role"] == "system"]
    turns = [m for m in messages if m["role"] != "system"]
    while len(turns) > 1 and prompt_length(tokenizer, system + turns) > budget:
        turns = turns[1:]
        while len(turns) > 1 and turns[0]["role"] != "user":
            turns = turns[1:]
    return system + turns


def _cut_text(tokenizer: Any, text: str, rebuild: Any, budget: int) -> Any:
    """Drop tokens from the start of ``text`` until ``rebuild(text)`` fits ``budget``."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    keep = len(ids)
    candidate = rebuild(text)
    for _ in range(MAX_ROUNDS):
        excess = prompt_length(tokenizer, candidate) - budget
        if excess <= 0 or keep == 0:
            break
        keep = max(0, keep - excess)
        candidate = rebuild(tokenizer.decode(ids[len(ids) - keep:]) if keep else "")
    return candidate
