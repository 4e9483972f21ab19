"""Plain domain objects of the label store, and the hashes that identify them."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from json.encoder import encode_basestring as _encode  # what dumps does to a str
from typing import Any

THUMB_VALUES = frozenset({"up", "down"})
PAIR_VALUES = frozenset({"left", "right", "tie", "both_bad"})
LABEL_KINDS = ("thumb", "pair", "gold")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def prompt_hash(messages: list[dict[str, str]], system: str | None) -> str:
    canonical = json.dumps(
        {"system": system or "", "messages": [[m["role"], m["content"]] for m in messages]},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def stored_and_hash(messages: list[dict[str, str]], system: str | None) -> tuple[str, str]:
    """``json.dumps(messages, ensure_ascii=False)`` and :func:`prompt_hash`, built from each
    string's JSON encoding once: an import does this for every row, and the two dumps took
    6 s of a million-row import (1 s this way). Turns with other keys than role and content
    go the slow way."""
    stored, canonical = [], []
    for message in messages:
        if len(message) != 2 or "role" not in message or "content" not in message:
            return json.dumps(messages, ensure_ascii=False), prompt_hash(messages, system)
        role, content = _encode(message["role"]), _encode(message["content"])
        stored.append(f'{{"role": {role}, "content": {content}}}')
        canonical.append(f"[{role},{content}]")
    key = f'{{"system":{_encode(system or "")},"messages":[{",".join(canonical)}]}}'
    return f"[{', '.join(stored)}]", hashlib.sha256(key.encode("utf-8")).hexdigest()


def normalized_key(messages: list[dict[str, str]], system: str | None) -> str:
    """The hash of a prompt with case, Unicode compatibility forms and whitespace evened out:
    two prompts with the same key differ only in how they were typed, so an eval prompt's key
    finds the training prompts that would leak it."""
    canonical = json.dumps(
        {"system": _even(system or ""),
         "messages": [[m["role"], _even(m["content"])] for m in messages]},
        ensure_ascii=False, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _even(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pair_target(first_id: int | str, second_id: int | str) -> str:
    """A pair is the same judgement target whichever side each response was shown on (by id;
    the importer also names responses by text hash ahead of their ids)."""
    low, high = sorted((first_id, second_id))
    return f"pair:{low}:{high}"


@dataclass(frozen=True)
class Prompt:
    id: int
    messages: list[dict[str, str]]
    system: str | None
    text: str
    tags: list[str] = field(default_factory=list)
    source: str = "manual"
    hash: str = ""
    created_at: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Prompt:
        return cls(
            id=row["id"], messages=json.loads(row["messages"]), system=row["system"],
            text=row["text"], tags=json.loads(row["tags"] or "[]"), source=row["source"],
            hash=row["hash"], created_at=row["created_at"],
        )

    def conversation(self) -> list[dict[str, str]]:
        """The messages with the system prompt first, as chat templates expect."""
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + self.messages


@dataclass(frozen=True)
class Response:
    id: int
    prompt_id: int
    text: str
    origin: str
    model: str | None = None
    gen_params: dict[str, Any] | None = None
    source: str | None = None
    parent_id: int | None = None
    created_at: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Response:
        params = row["gen_params"]
        return cls(
            id=row["id"], prompt_id=row["prompt_id"], text=row["text"], origin=row["origin"],
            model=row["model"], gen_params=json.loads(params) if params else None,
            source=row["source"], parent_id=row["parent_id"], created_at=row["created_at"],
        )


@dataclass(frozen=True)
class Label:
    """One label event. ``value`` 'retracted' marks an undo of everything before it."""

    id: int
    kind: str
    target: str
    prompt_id: int
    value: str
    annotator: str
    annotator_kind: str
    response_id: int | None = None
    left_id: int | None = None
    right_id: int | None = None
    parent_id: int | None = None
    reason: str | None = None
    source: str | None = None
    accepted: bool = False
    created_at: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Label:
        return cls(
            id=row["id"], kind=row["kind"], target=row["target"], prompt_id=row["prompt_id"],
            value=row["value"], annotator=row["annotator"],
            annotator_kind=row["annotator_kind"], response_id=row["response_id"],
            left_id=row["left_id"], right_id=row["right_id"], parent_id=row["parent_id"],
            reason=row["reason"], source=row["source"], accepted=bool(row["accepted"]),
            created_at=row["created_at"] or "",
        )

    @property
    def chosen_rejected(self) -> tuple[int, int] | None:
        """For a decisive pair label: (chosen id, rejected id); else None."""
        if self.kind != "pair" or self.left_id is None or self.right_id is None:
            return None
        if self.value == "left":
            return self.left_id, self.right_id
        if self.value == "right":
            return self.right_id, self.left_id
        return None
