"""Read and check a whole input first, then write it: a file is imported whole or not at
all, and importing the same file again adds nothing.

Both passes stream: the check keeps counts, the first problems and a preview, and the write
(studio/data/importing/writer.py) reads the file again in batches, so memory is bounded by a
batch, not by the file. The write is one transaction: a failure, a cancel or a full disk rolls
it back, which needs no free space (a clean-up DELETE after committed batches did, and left
rows behind on a full disk)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.data.importing.hub import fetch_hub_dataset
from studio.data.importing.parsed import ParsedFile, file_signature
from studio.data.importing.readers import FileError, RowError, file_kind, read_rows
from studio.data.importing.shapes import (
    SHAPE_NAMES,
    SHAPES,
    detect_shape,
    to_example,
)
from studio.data.importing.writer import write_parsed
from studio.db.store import Store
from studio.errors import ImportFormatError, RowProblem
from studio.registry.locate import is_hub_id

MAX_PROBLEMS = 50
PREVIEW = 200  # examples kept from the check for the dialog's preview; the rest streams


@dataclass
class ImportReport:
    path: Path
    shape: str
    rows: int
    prompts_added: int
    responses_added: int
    labels_added: int


def resolve_source(spec: str | Path) -> Path:
    """A local path as is; an ``owner/name`` that is not a local path is fetched from the hub."""
    path = Path(spec).expanduser()
    if not is_hub_id(str(spec)):
        return path
    return fetch_hub_dataset(str(spec))


def parse_path(spec: str | Path, shape: str = "auto") -> ParsedFile:
    """Read and check every row. Collects up to MAX_PROBLEMS problems instead of stopping."""
    path = resolve_source(spec)
    if not path.exists():
        raise ImportFormatError(path, [RowProblem("file", None, "no such file or folder")])
    if shape != "auto" and shape not in SHAPE_NAMES:
        raise ImportFormatError(path, [RowProblem("file", None, f"unknown format {shape!r}; use"
                                                  f" one of auto, {', '.join(SHAPE_NAMES)}")])
    try:
        parsed = ParsedFile(path, file_kind(path), None if shape == "auto" else shape,
                            signature=file_signature(path))
        _parse_rows(parsed)
        if shape == "auto":
            _check_one_shape(parsed)
    except FileError as error:
        raise ImportFormatError(path, [RowProblem("file", None, str(error))]) from error
    if parsed.rows == 0 and not parsed.problem_count:
        _problem(parsed, RowProblem("file", None, "the file holds no rows"))
    return parsed


def _parse_rows(parsed: ParsedFile) -> None:
    rows = read_rows(parsed.path)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except RowError as error:  # the reader cannot go on past an unreadable row
            _problem(parsed, RowProblem(error.location, error.field, error.message))
            return
        parsed.rows += 1
        _parse_row(parsed, row.location, row.data)


def _parse_row(parsed: ParsedFile, location: str, data: dict[str, Any]) -> None:
    shape = parsed.shape
    if shape is None or parsed.seen_count:  # auto: every row's own shape, checked at the end
        shape = detect_shape(data)
        if shape is None:
            _problem(parsed, RowProblem(location, None, f"unrecognized row shape (fields:"
                                        f" {_field_names(data)}); expected e.g. prompt,"
                                        " messages, conversations, instruction or"
                                        " chosen/rejected"))
            return
        parsed.seen_count[shape] = parsed.seen_count.get(shape, 0) + 1
        where = parsed.seen.setdefault(shape, [])
        if len(where) < MAX_PROBLEMS:
            where.append((parsed.rows, location, {k for k, v in data.items() if v is not None}))
    try:
        example = to_example(data, shape, location)
    except RowError as error:
        _problem(parsed, RowProblem(error.location, error.field, error.message))
        return
    except KeyError as error:
        _problem(parsed, RowProblem(location, str(error.args[0]),
                                    f"missing (the format is {shape})"))
        return
    parsed.shape_examples[shape] = parsed.shape_examples.get(shape, 0) + 1
    parsed.example_count += 1
    if len(parsed.examples) < PREVIEW:
        parsed.examples.append((location, example))
        parsed.example_shapes.append(shape)


def _field_names(data: dict[str, Any]) -> str:
    """The row's non-empty fields, for messages (escaped when printed: see RowProblem)."""
    return ", ".join(sorted(k for k, v in data.items() if v is not None)) or "none"


def _check_one_shape(parsed: ParsedFile) -> None:
    """A file has one shape. The shape is taken from every row, so a first row with a null
    field cannot make the other rows lose their answers; rows that disagree are named."""
    if not parsed.seen_count:
        return
    majority = max(parsed.seen_count, key=lambda name: parsed.seen_count[name])
    parsed.shape = majority
    needed = next(fields for name, fields, _ in SHAPES if name == majority)
    for shape, where in parsed.seen.items():
        if shape == majority:
            continue
        for row, location, keys in where:
            missing = sorted(needed - keys)
            problem = RowProblem(location, missing[0], f"missing (the format is {majority})") \
                if missing else RowProblem(
                    location, None, f"this row looks like '{shape}' (fields:"
                    f" {', '.join(sorted(keys))}) but {parsed.seen_count[majority]} rows are"
                    f" '{majority}'")
            _problem(parsed, problem, row)
        parsed.problem_count += parsed.seen_count[shape] - len(where)
    parsed.examples = [example for example, shape
                       in zip(parsed.examples, parsed.example_shapes, strict=True)
                       if shape == majority]
    parsed.example_count = parsed.shape_examples.get(majority, 0)
    order = sorted(range(len(parsed.problems)), key=lambda i: parsed.problem_rows[i])
    parsed.problems = [parsed.problems[i] for i in order]


def _problem(parsed: ParsedFile, problem: RowProblem, row: int | None = None) -> None:
    parsed.problem_count += 1
    if len(parsed.problems) < MAX_PROBLEMS:
        parsed.problems.append(problem)
        parsed.problem_rows.append(parsed.rows if row is None else row)


def import_path(
    store: Store, spec: str | Path, shape: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ImportReport:
    """Import a file, folder or hub id whole, or raise and store nothing.

    ``progress(rows_done, rows_total)`` is called after each batch; ``should_cancel()`` is
    asked before each batch, and True rolls everything back (ImportCancelledError)."""
    return import_parsed(store, parse_path(spec, shape), progress, should_cancel)


def import_parsed(
    store: Store, parsed: ParsedFile, progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ImportReport:
    """Import an input checked before (the Import dialog's preview), or raise and store
    nothing. It is written without being checked again (a third read of a big file), unless
    it changed on disk since: then it is checked again first."""
    if not parsed.unchanged():
        parsed = parse_path(parsed.path, parsed.shape or "auto")
    if not parsed.ok:
        raise parsed.error()
    counts = write_parsed(store, parsed, progress, should_cancel)
    return ImportReport(parsed.path, parsed.shape or "", parsed.rows, *counts)
