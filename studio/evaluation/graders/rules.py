"""Text rules: exact and normalized match, regex, phrases, length, JSON, prefix/suffix, case."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

from studio.evaluation.graders.base import Grade, Grader
from studio.evaluation.graders.schema import check_schema

_PUNCT = str.maketrans("", "", string.punctuation)
# Pictographs, symbols and flags: enough to catch the emoji a chat model writes.
_EMOJI = re.compile("[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f1e6-\U0001f1ff\ufe0f]")


def normalize(text: str) -> str:
    """Lowercase, no punctuation, single spaces: what "the same answer" means to a reader."""
    return " ".join(text.lower().translate(_PUNCT).split())


def _verdict(ok: bool, yes: str, no: str) -> Grade:
    return Grade(1.0, yes) if ok else Grade(0.0, no)


class ExactGrader(Grader):
    name = "exact"

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        ref = reference or ""
        return _verdict(response.strip() == ref.strip(), "exact match",
                        f"{response.strip()[:60]!r} is not {ref.strip()[:60]!r}")


class NormalizedGrader(Grader):
    name = "normalized"

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        got, want = normalize(response), normalize(reference or "")
        return _verdict(got == want, "same after normalizing case, spaces and punctuation",
                        f"{got[:60]!r} is not {want[:60]!r}")


class RegexGrader(Grader):
    """Passes when the pattern is found (or, with ``must_match=False``, when it is not)."""

    def __init__(self, pattern: str, must_match: bool = True):
        self.pattern = re.compile(pattern)
        self.must_match = must_match
        self.name = ("regex:" if must_match else "not-regex:") + pattern

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        found = self.pattern.search(response) is not None
        shown = self.pattern.pattern
        if self.must_match:
            return _verdict(found, f"matches /{shown}/", f"does not match /{shown}/")
        return _verdict(not found, f"does not match /{shown}/", f"matches /{shown}/ (forbidden)")


class ContainsGrader(Grader):
    """All of the phrases present (``mode="all"``) or none of them (``mode="none"``); case-blind."""

    def __init__(self, phrases: list[str], mode: str = "all"):
        if mode not in ("all", "none") or not phrases:
            raise ValueError("contains needs at least one phrase and mode 'all' or 'none'")
        self.phrases = phrases
        self.mode = mode
        self.name = ("contains:" if mode == "all" else "excludes:") + "|".join(phrases)

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        low = response.lower()
        present = [p for p in self.phrases if p.lower() in low]
        if self.mode == "all":
            missing = [p for p in self.phrases if p not in present]
            return _verdict(not missing, "has every phrase", f"missing {missing}")
        return _verdict(not present, "has none of the phrases", f"has {present}")


class MentionsGrader(Grader):
    """The response mentions the reference: one of its ``A|B`` alternatives as whole words,
    case-blind. For short verifiable answers ("Paris", "56") inside a chatty reply."""

    name = "mentions"

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        options = [o.strip() for o in (reference or "").split("|") if o.strip()]
        if not options:
            return Grade(0.0, "no reference to look for")
        found = [o for o in options
                 if re.search(rf"(?<!\w){re.escape(o)}(?!\w)", response, re.IGNORECASE)]
        return _verdict(bool(found), f"mentions {found[0]!r}" if found else "",
                        f"mentions none of {options[:4]}")


class LengthGrader(Grader):
    """Word count within [low, high]."""

    def __init__(self, low: int = 0, high: int | None = None):
        self.low, self.high = low, high
        self.name = f"words:{low}-{'' if high is None else high}"

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        n = len(response.split())
        ok = n >= self.low and (self.high is None or n <= self.high)
        return _verdict(ok, f"{n} words, within bounds", f"{n} words, outside {self.name[6:]}")


def unfence(text: str) -> str:
    """The body of a fenced block (models often wrap JSON in one; the fence is not part of
    the answer). Plain string work: the regex it replaces took cubic time on a fence followed
    by thousands of spaces."""
    text = text.strip()
    if len(text) >= 6 and text.startswith("```") and text.endswith("```"):
        body = text[3:-3]
        return (body[4:] if body.startswith("json") else body).strip()
    return text


def _parse_json(response: str) -> tuple[Any, str | None]:
    try:
        return json.loads(unfence(response)), None
    except json.JSONDecodeError as error:
        return None, f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
    except RecursionError:
        return None, "JSON nested deeper than can be read (RecursionError)"


class JsonGrader(Grader):
    """Valid JSON, and when a schema is given, JSON that matches it."""

    def __init__(self, schema: dict[str, Any] | bool | None = None,
                 schema_path: Path | None = None):
        self.schema = schema
        if schema is not None:
            check_schema(schema, str(schema_path or "the schema"))
        self.name = f"json-schema:{schema_path}" if schema_path else "json"

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        value, problem = _parse_json(response)
        if problem:
            return Grade(0.0, problem)
        if self.schema is None:
            return Grade(1.0, "valid JSON")
        import jsonschema  # here: 0.1 s of imports that only JSON-schema graders need

        try:
            errors = list(jsonschema.Draft202012Validator(self.schema).iter_errors(value))
        except RecursionError:
            return Grade(0.0, "the JSON is nested too deep to check against the schema")
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "the top level"
            return Grade(0.0, f"schema: {errors[0].message} (at {where})")
        return Grade(1.0, "valid JSON matching the schema")


class AffixGrader(Grader):
    """Starts with / ends with a text (after trimming spaces)."""

    def __init__(self, text: str, where: str):
        if where not in ("starts", "ends"):
            raise ValueError("where must be 'starts' or 'ends'")
        self.text, self.where = text, where
        self.name = f"{where}-with:{text}"

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        body = response.strip()
        ok = body.startswith(self.text) if self.where == "starts" else body.endswith(self.text)
        return _verdict(ok, f"{self.where} with {self.text!r}",
                        f"does not {self.where[:-1]} with {self.text!r}")


class LowercaseGrader(Grader):
    name = "lowercase"

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        upper = [c for c in response if c.isupper()]
        return _verdict(not upper, "all lowercase", f"{len(upper)} uppercase letters")


class NoEmojiGrader(Grader):
    name = "no-emoji"

    def _score(self, prompt: str, response: str, reference: str | None) -> Grade:
        found = _EMOJI.findall(response)
        return _verdict(not found, "no emoji", f"{len(found)} emoji")
