"""Training renders the model's chat template with the chat worker's limits.

TRL renders every row through transformers' own sandbox, which has no time or size limit: a
template with a 99,999 x 99,999 loop kept ``train`` silent for minutes. Before the trainer is
built, every conversation of the snapshot is rendered once with the chat worker's sandbox
(:mod:`backends.lib.chat_template`: a time limit per render, no huge strings, no escapes), so a
template that cannot work ends the run at once with a message naming the row; templates are
deterministic, so TRL's own rendering of the same rows is then known to be safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from backends.lib.chat_template import ChatTemplateError, make_formatter, render

Messages = list[dict[str, Any]]


def conversations(row: dict[str, Any]) -> Iterator[Messages]:
    """What the trainer renders of a snapshot row (SFT, DPO, KTO or GRPO)."""
    if isinstance(row.get("messages"), list):
        yield row["messages"]
    prompt = row.get("prompt")
    if isinstance(prompt, list):
        yield prompt
        for key in ("chosen", "rejected", "completion"):
            if isinstance(row.get(key), list):
                yield prompt + row[key]


def template_of(tokenizer: Any) -> str | None:
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):  # named templates: the default one is what TRL renders
        template = template.get("default") or next(iter(template.values()), None)
    return template if isinstance(template, str) else None


def check_template(tokenizer: Any, splits: dict[str, Iterable[dict[str, Any]] | None]) -> None:
    """Raise :class:`ChatTemplateError` when the tokenizer's chat template fails, loops or
    explodes on a sample chat or on any conversation of ``splits``."""
    template = template_of(tokenizer)
    if template is None:
        return  # no template: TRL says so itself
    try:
        formatter, _ = make_formatter(template, eos=str(tokenizer.eos_token or ""),
                                      bos=str(tokenizer.bos_token or ""), stop_ids=None)
    except ChatTemplateError as error:
        raise ChatTemplateError(f"the model's chat template cannot be used: {error}") from None
    for split, rows in splits.items():
        for number, row in enumerate(rows or [], start=1):
            for messages in conversations(row):
                try:
                    render(formatter, messages)
                except ChatTemplateError as error:
                    raise ChatTemplateError(f"the model's chat template fails on {split} row"
                                            f" {number}: {error}") from None
