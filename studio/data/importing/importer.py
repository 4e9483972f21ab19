"""Parse a whole input first, then write it: a file is imported whole or not at all, and
importing the same file again adds nothing.

The write commits in batches of BATCH rows, so a person labeling in another window never waits
more than one batch (tens of milliseconds) behind a large import. All-or-nothing still holds:
a failed or cancelled import deletes the rows it added (they carry its source and timestamp),
except any that a person labeled in the meantime."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from studio.data.importing.hub import fetch_hub_dataset
from studio.data.importing.readers import FileError, RowError, file_kind, read_rows
from studio.data.importing.shapes import (
    SHAPE_NAMES,
    SHAPES,
    Example,
    detect_shape,
    to_example,
)
from studio.errors import ImportCancelledError, ImportFormatError, RowProblem
from studio.labels.records import now_iso, pair_target, prompt_hash, text_hash
from studio.labels.store import Store
from studio.registry.locate import is_hub_id

IMPORT_ANNOTATOR = "import"
MAX_PROBLEMS = 50
CHUNK = 500  # ids per lookup query (SQLite's variable limit)
BATCH = 2000  # rows per write transaction: ~10-50 ms here
BATCH_GAP_S = 0.005  # longer than a waiting writer's polling interval (store.py)


@dataclass
class ParsedFile:
    """An input read and checked, nothing written yet: what the import dialog previews."""

    path: Path
    kind: str
    shape: str | None
    examples: list[tuple[str, Example]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    problem_count: int = 0
    rows: int = 0
    # auto mode: where each detected shape was seen (first MAX_PROBLEMS rows of each)
    seen: dict[str, list[tuple[int, str, set[str]]]] = field(default_factory=dict)
    seen_count: dict[str, int] = field(default_factory=dict)
    example_shapes: list[str] = field(default_factory=list)
    problem_rows: list[int] = field(default_factory=list)  # row number of each problem

    @property
    def ok(self) -> bool:
        return self.problem_count == 0 and bool(self.examples)

    def error(self) -> ImportFormatError:
        return ImportFormatError(self.path, self.problems, self.problem_count)


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
        parsed = ParsedFile(path, file_kind(path), None if shape == "auto" else shape)
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
        parsed.examples.append((location, to_example(data, shape, location)))
        parsed.example_shapes.append(shape)
    except RowError as error:
        _problem(parsed, RowProblem(error.location, error.field, error.message))
    except KeyError as error:
        _problem(parsed, RowProblem(location, str(error.args[0]),
                                    f"missing (the format is {shape})"))


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
    """Import a file, folder or hub id whole, or raise and store nothing."""
    parsed = parse_path(spec, shape)
    if not parsed.ok:
        raise parsed.error()
    writer = _Writer(store, parsed, progress, should_cancel)
    try:
        report = writer.write()
        with store.atomic():
            store.db.execute(
                "INSERT INTO imports (path, format, file_hash, rows, prompts_added,"
                " responses_added, labels_added, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [str(parsed.path), parsed.shape, _file_hash(parsed.path), parsed.rows,
                 report.prompts_added, report.responses_added, report.labels_added,
                 now_iso()],
            )
    except BaseException:
        writer.undo()
        raise
    return report


class _Writer:
    """Bulk inserts for one parsed file, inside the caller's transaction."""

    def __init__(self, store: Store, parsed: ParsedFile,
                 progress: Callable[[int, int], None] | None,
                 should_cancel: Callable[[], bool] | None):
        self.store = store
        self.db = store.db
        self.created = now_iso()  # with the source, marks the rows this import added
        self.parsed = parsed
        self.source = f"import:{parsed.path.name}"
        self.progress = progress or (lambda done, total: None)
        self.should_cancel = should_cancel or (lambda: False)

    def write(self) -> ImportReport:
        examples = [example for _, example in self.parsed.examples]
        prompts_added, prompt_ids = self._write_prompts(examples)
        responses_added, response_ids = self._write_responses(examples, prompt_ids)
        labels_added = self._write_labels(examples, prompt_ids, response_ids)
        return ImportReport(self.parsed.path, self.parsed.shape or "", self.parsed.rows,
                            prompts_added, responses_added, labels_added)

    def _insert(self, sql: str, rows: list[list[Any]], step: str) -> int:
        before = self.db.conn.total_changes
        for start in range(0, len(rows), BATCH):
            if self.should_cancel():
                raise ImportCancelledError("import cancelled; nothing was stored")
            with self.store.atomic():
                self.db.conn.executemany(sql, rows[start:start + BATCH])
            time.sleep(BATCH_GAP_S)  # a writer polling for the lock gets in here
            self.progress(start + len(rows[start:start + BATCH]), len(rows))
        return self.db.conn.total_changes - before

    def undo(self) -> None:
        """Delete what this import added, keeping anything a person labeled meanwhile."""
        mark = [self.source, self.created]
        with self.store.atomic():
            self.db.execute("DELETE FROM labels WHERE source = ? AND created_at = ? AND"
                            f" annotator = '{IMPORT_ANNOTATOR}'", mark)
            self.db.execute(
                "DELETE FROM responses WHERE source = ? AND created_at = ? AND NOT EXISTS"
                " (SELECT 1 FROM labels l WHERE responses.id IN (l.response_id, l.left_id,"
                " l.right_id, l.parent_id)) AND NOT EXISTS (SELECT 1 FROM responses r"
                " WHERE r.parent_id = responses.id)", mark)
            self.db.execute(
                "DELETE FROM prompts WHERE source = ? AND created_at = ? AND NOT EXISTS"
                " (SELECT 1 FROM responses r WHERE r.prompt_id = prompts.id) AND NOT EXISTS"
                " (SELECT 1 FROM labels l WHERE l.prompt_id = prompts.id)", mark)

    def _write_prompts(self, examples: list[Example]) -> tuple[int, list[int]]:
        hashes = [prompt_hash(e.messages, e.system) for e in examples]
        created = self.created
        rows = [[h, json.dumps(e.messages, ensure_ascii=False), e.system,
                 e.messages[-1]["content"], json.dumps(e.tags), self.source, created]
                for h, e in zip(hashes, examples, strict=True)]
        added = self._insert(
            "INSERT OR IGNORE INTO prompts (hash, messages, system, text, tags, source,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows, "prompts")
        ids = self._lookup("SELECT hash, id FROM prompts WHERE hash IN ({})", sorted(set(hashes)))
        return added, [ids[h] for h in hashes]

    def _write_responses(self, examples: list[Example], prompt_ids: list[int]
                         ) -> tuple[int, dict[tuple[int, str], int]]:
        created = self.created
        rows = [[pid, text_hash(text), text, "imported", self.source, created]
                for pid, text in _response_texts(examples, prompt_ids)]
        added = self._insert(
            "INSERT OR IGNORE INTO responses (prompt_id, hash, text, origin, source, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)", rows, "responses")
        ids: dict[tuple[int, str], int] = {}
        unique_prompts = sorted(set(prompt_ids))
        for start in range(0, len(unique_prompts), CHUNK):
            chunk = unique_prompts[start:start + CHUNK]
            sql = f"SELECT prompt_id, hash, id FROM responses WHERE prompt_id IN" \
                  f" ({','.join('?' * len(chunk))})"
            for prompt_id, digest, response_id in self.db.execute(sql, chunk):
                ids[(prompt_id, digest)] = response_id
        return added, ids

    def _write_labels(self, examples: list[Example], prompt_ids: list[int],
                      response_ids: dict[tuple[int, str], int]) -> int:
        created = self.created
        rows = []
        for example, prompt_id in zip(examples, prompt_ids, strict=True):
            def rid(text: str, pid: int = prompt_id) -> int:
                return response_ids[(pid, text_hash(text))]
            for kind, target, value, fields in _labels_of(example, rid):
                key = hashlib.sha256(f"{IMPORT_ANNOTATOR}|{target}|{value}".encode()).hexdigest()
                rows.append([kind, target, prompt_id, fields.get("response_id"),
                             fields.get("left_id"), fields.get("right_id"), value,
                             IMPORT_ANNOTATOR, "import", self.source, key, created])
        return self._insert(
            "INSERT OR IGNORE INTO labels (kind, target, prompt_id, response_id, left_id,"
            " right_id, value, annotator, annotator_kind, source, import_key, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows, "labels")

    def _lookup(self, sql: str, keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start:start + CHUNK]
            found.update(self.db.execute(sql.format(",".join("?" * len(chunk))), chunk))
        return found


def _response_texts(examples: list[Example], prompt_ids: list[int]
                    ) -> Iterable[tuple[int, str]]:
    for example, prompt_id in zip(examples, prompt_ids, strict=True):
        for text in (example.gold, example.chosen, example.rejected, example.completion):
            if text is not None:
                yield prompt_id, text


def _labels_of(example: Example, rid: Callable[[str], int]
               ) -> Iterable[tuple[str, str, str, dict[str, int]]]:
    """The labels a person would have made to say what the row says."""
    if example.gold is not None:
        gold = rid(example.gold)
        yield "gold", f"gold:{gold}", "gold", {"response_id": gold}
    if example.chosen is not None and example.rejected is not None:
        chosen, rejected = rid(example.chosen), rid(example.rejected)
        if chosen != rejected:  # identical texts say nothing about preference
            yield "pair", pair_target(chosen, rejected), "left", \
                {"left_id": chosen, "right_id": rejected}
    if example.completion is not None and example.label is not None:
        response = rid(example.completion)
        yield "thumb", f"thumb:{response}", "up" if example.label else "down", \
            {"response_id": response}


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with file.open("rb") as handle:
            for block in iter(partial(handle.read, 1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
