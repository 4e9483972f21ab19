"""Row shapes of the common fine-tuning formats, and their mapping to one :class:`Example`.

Each shape names the fields that identify it. ``detect_shape`` picks the first shape whose
fields a row has; ``to_example`` turns a row into an Example or raises RowError naming the
field and what was expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from studio.data.importing.readers import RowError

Messages = list[dict[str, str]]

# (name, fields that identify it, one line for the import dialog)
SHAPES: list[tuple[str, frozenset[str], str]] = [
    ("sharegpt", frozenset({"conversations"}), "ShareGPT conversations (from / value)"),
    ("preference_messages", frozenset({"chosen_messages", "rejected_messages"}),
     "chosen_messages / rejected_messages (LLaMA-Factory DPO)"),
    ("preference", frozenset({"chosen", "rejected"}), "prompt / chosen / rejected (DPO)"),
    ("messages", frozenset({"messages"}), "OpenAI / TRL messages (optional boolean label)"),
    ("unpaired", frozenset({"prompt", "completion", "label"}), "prompt / completion / label (KTO)"),
    ("completion", frozenset({"prompt", "completion"}), "prompt / completion (SFT)"),
    ("alpaca", frozenset({"instruction"}), "Alpaca instruction / input / output"),
    ("prompt", frozenset({"prompt"}), "prompts only (to label later)"),
]
SHAPE_NAMES = [name for name, _, _ in SHAPES]
ROLE_ALIASES = {
    "user": "user", "human": "user", "assistant": "assistant", "gpt": "assistant",
    "bot": "assistant", "model": "assistant", "chatgpt": "assistant", "system": "system",
}
TRUE_WORDS = {"true", "1", "yes", "up", "good"}
FALSE_WORDS = {"false", "0", "no", "down", "bad"}


@dataclass
class Example:
    """One imported row: a prompt and what the row says about answers to it."""

    messages: Messages
    system: str | None = None
    tags: list[str] = field(default_factory=list)
    gold: str | None = None  # a reference answer (SFT)
    chosen: str | None = None  # a preference pair (DPO)
    rejected: str | None = None
    completion: str | None = None  # a labeled single answer (KTO)
    label: bool | None = None


def detect_shape(row: dict[str, Any]) -> str | None:
    keys = {key for key, value in row.items() if value is not None}
    for name, needed, _ in SHAPES:
        if needed <= keys:
            return name
    return None


def to_example(row: dict[str, Any], shape: str, location: str) -> Example:
    converter = _CONVERTERS[shape]
    example = converter(row, location)
    example.tags = _tags(row, location)
    return example


def _preference(row: dict[str, Any], loc: str) -> Example:
    if row.get("prompt") is None:
        return _implicit_preference(row, loc)
    system, messages, _ = _conversation(_prompt_turns(row["prompt"], loc, "prompt"), loc, "prompt")
    return Example(
        messages=messages, system=system,
        chosen=_answer(row["chosen"], loc, "chosen"),
        rejected=_answer(row["rejected"], loc, "rejected"),
    )


def _implicit_preference(row: dict[str, Any], loc: str) -> Example:
    chosen = _transcript_or_turns(row["chosen"], loc, "chosen")
    rejected = _transcript_or_turns(row["rejected"], loc, "rejected")
    shared = 0
    while shared < min(len(chosen), len(rejected)) and chosen[shared] == rejected[shared]:
        shared += 1
    system, messages, _ = _conversation(chosen[:shared], loc, "chosen")
    return Example(
        messages=messages, system=system,
        chosen=_final_assistant(chosen[shared:], loc, "chosen"),
        rejected=_final_assistant(rejected[shared:], loc, "rejected"),
    )


TRANSCRIPT_TURN = re.compile(r"\n\n(Human|Assistant): ")


def _transcript_or_turns(value: Any, loc: str, name: str) -> Messages:
    """Message lists, or Anthropic HH-style text ("\n\nHuman: ...\n\nAssistant: ...")."""
    if not isinstance(value, str):
        return _turns(value, loc, name)
    parts = TRANSCRIPT_TURN.split(value)
    if len(parts) < 3:
        raise RowError(loc, "expected a list of messages or a 'Human: / Assistant:' transcript,"
                       " got plain text (add a prompt column)", name)
    roles = {"Human": "user", "Assistant": "assistant"}
    return [{"role": roles[role], "content": _text(content.strip(), loc, name)}
            for role, content in zip(parts[1::2], parts[2::2], strict=True)]


def _preference_messages(row: dict[str, Any], loc: str) -> Example:
    """LLaMA-Factory's pairs: whole conversations, or answers after ``messages``/``prompt``."""
    shared = row.get("messages", row.get("prompt"))
    if shared is None:
        return _implicit_preference({"chosen": row["chosen_messages"],
                                     "rejected": row["rejected_messages"]}, loc)
    field = "messages" if row.get("messages") is not None else "prompt"
    system, messages, _ = _conversation(_prompt_turns(shared, loc, field), loc, field)
    return Example(
        messages=messages, system=system,
        chosen=_answer(row["chosen_messages"], loc, "chosen_messages"),
        rejected=_answer(row["rejected_messages"], loc, "rejected_messages"),
    )


def _sharegpt(row: dict[str, Any], loc: str) -> Example:
    turns = _turns(row["conversations"], loc, "conversations")
    if row.get("system"):
        turns = [{"role": "system", "content": _text(row["system"], loc, "system")}, *turns]
    if row.get("chosen") is not None and row.get("rejected") is not None:
        system, messages, _ = _conversation(turns, loc, "conversations")
        return Example(
            messages=messages, system=system,
            chosen=_answer(row["chosen"], loc, "chosen"),
            rejected=_answer(row["rejected"], loc, "rejected"),
        )
    system, messages, final = _conversation(turns, loc, "conversations")
    return Example(messages=messages, system=system, gold=final)


def _messages(row: dict[str, Any], loc: str) -> Example:
    system, messages, final = _conversation(_turns(row["messages"], loc, "messages"), loc,
                                            "messages")
    if row.get("label") is None:
        return Example(messages=messages, system=system, gold=final)
    if final is None:
        raise RowError(loc, "a labeled conversation must end with an assistant turn", "messages")
    return Example(messages=messages, system=system, completion=final,
                   label=_bool(row["label"], loc))


def _unpaired(row: dict[str, Any], loc: str) -> Example:
    system, messages, _ = _conversation(_prompt_turns(row["prompt"], loc, "prompt"), loc, "prompt")
    return Example(messages=messages, system=system,
                   completion=_answer(row["completion"], loc, "completion"),
                   label=_bool(row["label"], loc))


def _completion(row: dict[str, Any], loc: str) -> Example:
    system, messages, _ = _conversation(_prompt_turns(row["prompt"], loc, "prompt"), loc, "prompt")
    return Example(messages=messages, system=system,
                   gold=_answer(row["completion"], loc, "completion"))


def _alpaca(row: dict[str, Any], loc: str) -> Example:
    instruction = _text(row["instruction"], loc, "instruction")
    extra_field = "input" if row.get("input") is not None else "context"  # Dolly says context
    extra = row.get(extra_field)
    if isinstance(extra, str) and extra.strip():
        instruction = f"{instruction}\n\n{extra}"
    output_field = "output" if row.get("output") is not None else "response"
    output = row.get(output_field)
    system = _text(row["system"], loc, "system") if row.get("system") else None
    gold = (_text(output, loc, output_field) if output is not None and str(output).strip()
            else None)
    return Example(messages=[{"role": "user", "content": instruction}], system=system, gold=gold)


def _prompt_only(row: dict[str, Any], loc: str) -> Example:
    system, messages, _ = _conversation(_prompt_turns(row["prompt"], loc, "prompt"), loc, "prompt")
    if row.get("system") and system is None:
        system = _text(row["system"], loc, "system")
    return Example(messages=messages, system=system)


_CONVERTERS = {
    "preference": _preference, "preference_messages": _preference_messages,
    "sharegpt": _sharegpt, "messages": _messages,
    "unpaired": _unpaired, "completion": _completion, "alpaca": _alpaca, "prompt": _prompt_only,
}


# ---- field helpers ---------------------------------------------------------------------
def _text(value: Any, loc: str, name: str) -> str:
    if isinstance(value, str):
        if not value.strip():
            raise RowError(loc, "expected non-empty text", name)
        return value
    if _is_parts(value):
        # OpenAI parts carry "text"; LLaMA-Factory's carry "value".
        text = "".join(str(p.get("text", p.get("value")) or "") for p in value)
        if not text.strip():
            raise RowError(loc, "expected non-empty text in the content parts", name)
        return text
    raise RowError(loc, f"expected text, got {_type_name(value)}", name)


def _is_parts(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(p, dict) and p.get("type") == "text" for p in value)


def _turns(value: Any, loc: str, name: str) -> Messages:
    if not isinstance(value, list) or not value:
        raise RowError(loc, f"expected a non-empty list of messages, got {_type_name(value)}",
                       name)
    turns = []
    for index, message in enumerate(value):
        where = f"{name}[{index}]"
        if not isinstance(message, dict):
            raise RowError(loc, f"expected a message object, got {_type_name(message)}", where)
        raw_role = message.get("role", message.get("from"))
        role = ROLE_ALIASES.get(str(raw_role).lower()) if raw_role is not None else None
        if role is None:
            raise RowError(loc, f"unknown role {raw_role!r} (expected user, assistant or"
                           " system)", f"{where}.role")
        content = message.get("content", message.get("value"))
        turns.append({"role": role, "content": _text(content, loc, f"{where}.content")})
    return turns


def _prompt_turns(value: Any, loc: str, name: str) -> Messages:
    if isinstance(value, str):
        return [{"role": "user", "content": _text(value, loc, name)}]
    if not isinstance(value, list):
        raise RowError(loc, f"expected text or a list of messages, got {_type_name(value)}",
                       name)
    return _turns(value, loc, name)


def _conversation(turns: Messages, loc: str, name: str) -> tuple[str | None, Messages, str | None]:
    """Split into (system, prompt turns ending with the user, final assistant answer)."""
    system = None
    if turns and turns[0]["role"] == "system":
        system, turns = turns[0]["content"], turns[1:]
    final = None
    if turns and turns[-1]["role"] == "assistant":
        final, turns = turns[-1]["content"], turns[:-1]
    if not turns or turns[-1]["role"] != "user":
        raise RowError(loc, "the conversation needs a user turn before the answer", name)
    if any(turn["role"] == "system" for turn in turns):
        raise RowError(loc, "a system message is only allowed first", name)
    return system, turns, final


def _answer(value: Any, loc: str, name: str) -> str:
    """An answer as text, one assistant message, or a whole conversation ending with it (as in
    UltraFeedback, whose chosen/rejected repeat the prompt)."""
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list) and value and not _is_parts(value):
        turns = _turns(value, loc, name)
        if len(turns) > 1 and turns[-1]["role"] == "assistant":
            return turns[-1]["content"]
        return _final_assistant(turns, loc, name)
    return _text(value, loc, name)


def _final_assistant(turns: Messages, loc: str, name: str) -> str:
    if len(turns) != 1 or turns[0]["role"] != "assistant":
        raise RowError(loc, "expected exactly one assistant message after the shared prompt",
                       name)
    return turns[0]["content"]


def _bool(value: Any, loc: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise RowError(loc, f"expected true or false, got {value!r}", "label")


def _tags(row: dict[str, Any], loc: str) -> list[str]:
    tags = row.get("tags")
    if tags is None:
        return []
    if isinstance(tags, str):
        return [t.strip() for t in tags.split(",") if t.strip()]
    if isinstance(tags, list) and all(isinstance(t, str) for t in tags):
        return tags
    raise RowError(loc, "expected a list of strings", "tags")


def _type_name(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
