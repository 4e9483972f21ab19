"""Grader specs as typed on the command line and stored in the database: ``numeric``,
``regex:PATTERN``, ``contains:A|B``, ``json-schema:FILE``, ``python:FILE``..."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from studio.db.store import Store
from studio.errors import StudioError
from studio.evaluation.graders.base import AllOf, AnyOf, Grader
from studio.evaluation.graders.judge import JudgeGradeConfig, JudgeGrader
from studio.evaluation.graders.numeric import NumericGrader
from studio.evaluation.graders.pyfile import PythonFileGrader
from studio.evaluation.graders.rules import (
    AffixGrader,
    ContainsGrader,
    ExactGrader,
    JsonGrader,
    LengthGrader,
    LowercaseGrader,
    MentionsGrader,
    NoEmojiGrader,
    NormalizedGrader,
    RegexGrader,
)
from studio.evaluation.graders.schema import SchemaFileError, load_schema
from studio.paths import DataPaths
from studio.registry.gguf_resolve import NoGGUFError, resolve_gguf
from studio.registry.models import get_model


class GraderSpecError(StudioError):
    """A grader spec that names no known grader or has a bad argument."""


def _words(arg: str) -> Grader:
    low, _, high = arg.partition("-")
    return LengthGrader(int(low or 0), int(high) if high else None)


def _schema(arg: str) -> Grader:
    path = Path(arg)
    try:
        return JsonGrader(load_schema(path), schema_path=path)
    except SchemaFileError as error:
        raise GraderSpecError(str(error)) from None


_PLAIN: dict[str, Callable[[], Grader]] = {
    "numeric": NumericGrader, "exact": ExactGrader, "normalized": NormalizedGrader,
    "json": JsonGrader, "lowercase": LowercaseGrader, "no-emoji": NoEmojiGrader,
    "mentions": MentionsGrader,
}
_WITH_ARG: dict[str, Callable[[str], Grader]] = {
    "regex": RegexGrader,
    "not-regex": lambda a: RegexGrader(a, must_match=False),
    "contains": lambda a: ContainsGrader(a.split("|"), "all"),
    "excludes": lambda a: ContainsGrader(a.split("|"), "none"),
    "words": _words,
    "starts-with": lambda a: AffixGrader(a, "starts"),
    "ends-with": lambda a: AffixGrader(a, "ends"),
    "json-schema": _schema,
    "python": lambda a: PythonFileGrader(Path(a)),
}

SPEC_HELP: dict[str, str] = {
    "numeric": "the answer (\\boxed{}, 'Answer:', or the last number) equals the reference",
    "exact": "the response equals the reference (spaces trimmed)",
    "normalized": "equal after ignoring case, spaces and punctuation",
    "json": "the response is valid JSON",
    "lowercase": "no uppercase letters",
    "mentions": "the response mentions the reference (one of its A|B alternatives, whole"
    " words, case-blind)",
    "no-emoji": "no emoji",
    "regex:PATTERN": "the pattern is found in the response",
    "not-regex:PATTERN": "the pattern is not found",
    "contains:A|B": "every phrase is present (case-blind)",
    "excludes:A|B": "none of the phrases is present",
    "words:LOW-HIGH": "word count within bounds",
    "starts-with:TEXT": "the response starts with TEXT",
    "ends-with:TEXT": "the response ends with TEXT",
    "json-schema:FILE": "valid JSON that matches the JSON Schema in FILE",
    "python:FILE": "grade(prompt, response, reference) from FILE: your code, run with your"
    " rights in a child process with a time and memory limit",
    "judge:MODEL_ID": "a registered model's GGUF judges the response by a rubric (llama.cpp,"
    " in a child process; machine-made)",
    "all:SPEC;;SPEC": "passes when every spec passes",
    "any:SPEC;;SPEC": "passes when one spec passes",
}


def store_folder(store: Store) -> Path:
    """The data folder of an opened store (where its jobs/ live)."""
    row = store.db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]).resolve().parent if row and row[2] else Path.cwd()


def _judge(model_id: str, store: Store | None) -> Grader:
    if store is None:
        raise GraderSpecError(f"judge:{model_id} needs the model registry; grade it from the"
                              " app, 'tuning-studio grade' or an eval run")
    if not model_id:
        raise GraderSpecError("judge:MODEL_ID needs a model id; see 'tuning-studio models'")
    entry = get_model(store, model_id)
    try:
        files = resolve_gguf(store, model_id)
    except NoGGUFError as error:
        raise GraderSpecError(f"judge:{model_id}: the judge runs through llama.cpp: {error}"
                              ) from error
    config = JudgeGradeConfig(model_path=files.model_path, model_name=entry.name,
                              lora_path=files.lora_path)
    return JudgeGrader(model_id, config, store_folder(store) / "jobs")


def parse_spec(spec: str, store: Store | None = None) -> Grader:
    """The grader a spec names; combinations join specs with ``;;`` after ``all:`` / ``any:``.
    ``judge:MODEL_ID`` needs ``store`` to find the model's GGUF. The grader keeps its spec, so
    :func:`studio.evaluation.graders.sandbox.isolate` can rebuild it in a worker process."""
    grader = _parse(spec, store)
    grader.spec = spec
    return grader


def _parse(spec: str, store: Store | None) -> Grader:
    head, sep, arg = spec.partition(":")
    if head in ("all", "any") and sep:
        parts = [parse_spec(s, store) for s in arg.split(";;") if s]
        return AllOf(parts) if head == "all" else AnyOf(parts)
    if sep and head == "judge":
        return _judge(arg, store)
    if not sep and head in _PLAIN:
        return _PLAIN[head]()
    if sep and head in _WITH_ARG:
        try:
            return _WITH_ARG[head](arg)
        except (ValueError, TypeError, re.error) as error:
            raise GraderSpecError(f"grader spec {spec!r}: {error}") from error
    raise GraderSpecError(f"unknown grader spec {spec!r}; known: {', '.join(SPEC_HELP)}")


def check_spec(spec: str, store: Store | None = None) -> None:
    """Raise :class:`GraderSpecError` for a spec that cannot be built. Without a store a judge
    spec is checked for its model id only: whether that model has a GGUF is checked where the
    registry is at hand (at launch, and in the job that grades)."""
    head, sep, arg = spec.partition(":")
    if head in ("all", "any") and sep:
        for part in (s for s in arg.split(";;") if s):
            check_spec(part, store)
    elif head == "judge" and sep and store is None:
        if not arg:
            raise GraderSpecError("judge:MODEL_ID needs a model id; see 'tuning-studio models'")
    else:
        parse_spec(spec, store)


def parse_specs(specs: list[str], db: Path | None) -> list[Grader]:
    """The graders of ``specs`` in a child process; the data folder's database ``db`` is
    opened only when a judge spec needs the model registry, and closed before grading."""
    if not any(needs_registry(spec) for spec in specs):
        return [parse_spec(spec) for spec in specs]
    if db is None or not db.is_file():
        raise GraderSpecError("a judge grader needs the model registry, but this job is not in"
                              " a data folder (no studio.db next to its runs/ or jobs/)")
    store = Store.open(db)
    try:
        return [parse_spec(spec, store) for spec in specs]
    finally:
        store.close()


def folder_db(job_dir: Path) -> Path:
    """The database of the data folder holding ``job_dir`` (``<data>/runs/ID`` or
    ``<data>/jobs/ID``), whether or not it exists."""
    return DataPaths(Path(job_dir).resolve().parent.parent).db  # not .at(): it makes folders


def needs_registry(spec: str) -> bool:
    """Whether the spec (or a part of a combination) is a judge, which needs the store."""
    return "judge:" in spec
