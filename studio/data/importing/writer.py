"""The write half of an import: the checked file read again and written in batches, all in
one transaction.

Memory holds one batch (its rows, their ids), whatever the file's size. One transaction
makes the import all-or-nothing at no cost on failure: a cancel, an error or a full disk rolls
it back, and a rollback writes nothing. The price is that another process's label waits for
the import's commit (the store's writers retry for WRITE_PATIENCE_S; a million rows take about
a minute here)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from studio.data.importing.parsed import ParsedFile, input_files
from studio.data.importing.readers import RowError, read_rows
from studio.data.importing.shapes import Example, to_example
from studio.db.records import now_iso, pair_target, stored_and_hash, text_hash
from studio.db.store import Store
from studio.db.summaries import bulk_writes
from studio.errors import ImportCancelledError, ImportFormatError, RowProblem

IMPORT_ANNOTATOR = "import"
BATCH = 2000  # rows per batch: the memory bound, and how often progress and cancel are seen
CHUNK = 500  # ids per lookup query (SQLite's variable limit)

# SQLite's page cache for the import (KiB). Its default of 2 MB holds a sliver of a big
# store's random-keyed indexes (hashes, import keys): each insert then re-reads pages and the
# transaction spills dirty pages to the WAL and reads them back. A fixed cap keeps memory
# bounded whatever the file's size (the bench measures peak RSS with it).
IMPORT_CACHE_KIB = 160 * 1024
# From this many rows, an import at least as big as the store builds its secondary indexes
# at the end instead of row by row (summaries.bulk_writes: 10% of a 1M-row import).
DEFER_INDEXES_FROM = 50_000

Progress = Callable[[int, int], None]
ResponseKey = TypeVar("ResponseKey", int, str)


def write_parsed(store: Store, parsed: ParsedFile, progress: Progress | None = None,
                 should_cancel: Callable[[], bool] | None = None) -> tuple[int, int, int]:
    """Write every example of a checked file; returns (prompts, responses, labels) added."""
    report = progress or (lambda done, total: None)
    cancelled = should_cancel or (lambda: False)
    writer = _Batches(store, f"import:{parsed.path.name}", now_iso())
    done = 0
    # As big as the store or bigger: building the other indexes once at the end is cheaper.
    stored = store.db.execute("SELECT coalesce(max(id), 0) FROM prompts").fetchone()[0]
    defer = parsed.example_count >= max(DEFER_INDEXES_FROM, stored)
    # Foreign-key checks off (one to three index searches per response and label): every id
    # written comes from the import's own lookups in its own transaction. Inside a caller's
    # transaction SQLite ignores the pragma, and the checks stay on.
    with _pragma(store, "cache_size", -IMPORT_CACHE_KIB), _pragma(store, "foreign_keys", 0), \
            store.atomic(), bulk_writes(store.db, counted=True, defer_indexes=defer) as catch_up:
        report(0, parsed.example_count)  # the write starts: rates count from here
        for batch in map(_prepare, _batches(parsed)):
            if cancelled():
                raise ImportCancelledError("import cancelled; nothing was stored")
            writer.write(batch)
            catch_up()  # counts of this batch, the search index every 50k prompts
            done += len(batch.examples)
            report(done, parsed.example_count)
        if done != parsed.example_count:
            raise ImportFormatError(parsed.path, [RowProblem(
                "file", None, f"the file changed while it was imported ({done:,} rows now,"
                f" {parsed.example_count:,} when it was checked); nothing was stored")])
        store.db.execute(
            "INSERT INTO imports (path, format, file_hash, rows, prompts_added,"
            " responses_added, labels_added, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [str(parsed.path), parsed.shape, _file_hash(parsed.path), parsed.rows,
             *writer.added, now_iso()])
    return writer.added[0], writer.added[1], writer.added[2]


@contextmanager
def _pragma(store: Store, name: str, value: int) -> Iterator[None]:
    """A connection setting changed while the block runs, then as it was."""
    before = store.db.execute(f"PRAGMA {name}").fetchone()[0]
    store.db.execute(f"PRAGMA {name} = {int(value)}")
    try:
        yield
    finally:
        store.db.execute(f"PRAGMA {name} = {int(before)}")


def _batches(parsed: ParsedFile) -> Iterator[list[Example]]:
    """The file's examples again, BATCH at a time. The check passed, so every row maps to
    the file's shape; a row that does not now means the file changed: nothing is stored."""
    batch: list[Example] = []
    rows = read_rows(parsed.path)
    shape = parsed.shape or ""
    try:
        for row in rows:
            batch.append(to_example(row.data, shape, row.location))
            if len(batch) == BATCH:
                yield batch
                batch = []
    except (RowError, KeyError) as error:
        location = getattr(error, "location", "file")
        raise ImportFormatError(parsed.path, [RowProblem(
            location, None, "the file changed while it was imported; nothing was stored")]
        ) from error
    if batch:
        yield batch


@dataclass
class _Prepared:
    """A batch with everything that needs no database done: each text hashed once."""

    examples: list[Example]
    hashes: list[str]  # each prompt's hash
    messages: list[str]  # each prompt's messages as stored (JSON)
    tags: list[str]  # each prompt's tags as stored (JSON)
    digests: dict[str, str]  # each response text's hash, computed once
    # Per prompt hash, the distinct responses and label targets the batch gives it: a prompt
    # this batch inserts has exactly these counts (nothing else can point at a new prompt).
    counts: dict[str, tuple[int, int]]


def _prepare(examples: list[Example]) -> _Prepared:
    digests: dict[str, str] = {}
    for example in examples:
        for text in (example.gold, example.chosen, example.rejected, example.completion):
            if text is not None and text not in digests:
                digests[text] = text_hash(text)
    stored = [stored_and_hash(e.messages, e.system) for e in examples]
    hashes = [key for _, key in stored]
    return _Prepared(examples, hashes, [messages for messages, _ in stored],
                     [json.dumps(e.tags) if e.tags else "[]" for e in examples], digests,
                     _counts(examples, hashes, digests))


def _counts(examples: list[Example], hashes: list[str], digests: dict[str, str]
            ) -> dict[str, tuple[int, int]]:
    """(response_count, label_count) per prompt hash, as the rows will be written: responses
    are unique per (prompt, text) and labels count once per target (a later import label on
    the same target supersedes the earlier), so both are distinct sets keyed by text hash.
    A prompt met once in the batch (nearly all) needs no sets: one row's labels are of
    different kinds, so each has its own target."""
    rows: dict[str, list[Example]] = {}
    for example, key in zip(examples, hashes, strict=True):
        rows.setdefault(key, []).append(example)
    counts: dict[str, tuple[int, int]] = {}
    for key, group in rows.items():
        if len(group) == 1:
            example = group[0]
            counts[key] = (len(set(_texts(example))),
                           sum(1 for _ in _labels_of(example, digests.__getitem__)))
            continue
        texts = {digests[text] for example in group for text in _texts(example)}
        targets = {(kind, target) for example in group
                   for kind, target, _, _ in _labels_of(example, digests.__getitem__)}
        counts[key] = (len(texts), len(targets))
    return counts


class _Batches:
    """Inserts one batch at a time inside the caller's transaction, counting what it added.

    A batch comes prepared (parsed, each text hashed once, JSON dumped); here each statement
    runs once per batch over its tuples (executemany)."""

    def __init__(self, store: Store, source: str, created: str):
        self.db = store.db
        self.source = source
        self.created = created
        self.added = [0, 0, 0]  # prompts, responses, labels

    def write(self, batch: _Prepared) -> None:
        prompt_ids = self._prompts(batch)
        response_ids = self._responses(batch.examples, prompt_ids, batch.digests)
        self._labels(batch.examples, prompt_ids, response_ids, batch.digests)

    def _insert(self, sql: str, rows: Sequence[tuple[object, ...]], slot: int) -> None:
        # rowcount counts the statement's own rows, not those its triggers touch.
        cursor = self.db.conn.executemany(sql, rows)
        self.added[slot] += max(cursor.rowcount, 0)

    def _prompts(self, batch: _Prepared) -> list[int]:
        source, created, counts = self.source, self.created, batch.counts
        self._insert(
            "INSERT OR IGNORE INTO prompts (hash, messages, system, text, tags, source,"
            " created_at, response_count, label_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(h, messages, e.system, e.messages[-1]["content"], tags, source, created,
              *counts[h])
             for h, messages, tags, e in zip(batch.hashes, batch.messages, batch.tags,
                                             batch.examples, strict=True)], 0)
        ids = self._lookup("SELECT hash, id FROM prompts WHERE hash IN ({})",
                           sorted(set(batch.hashes)))
        return [ids[h] for h in batch.hashes]

    def _responses(self, examples: list[Example], prompt_ids: list[int],
                   digests: dict[str, str]) -> dict[tuple[int, str], int]:
        source, created = self.source, self.created
        self._insert(
            "INSERT OR IGNORE INTO responses (prompt_id, hash, text, origin, source, created_at)"
            " VALUES (?, ?, ?, 'imported', ?, ?)",
            [(pid, digests[text], text, source, created)
             for pid, text in _response_texts(examples, prompt_ids)], 1)
        ids: dict[tuple[int, str], int] = {}
        unique = sorted(set(prompt_ids))
        for start in range(0, len(unique), CHUNK):
            chunk = unique[start:start + CHUNK]
            for prompt_id, digest, response_id in self.db.conn.execute(
                    "SELECT prompt_id, hash, id FROM responses WHERE prompt_id IN"
                    f" ({','.join('?' * len(chunk))})", chunk):
                ids[(prompt_id, digest)] = response_id
        return ids

    def _labels(self, examples: list[Example], prompt_ids: list[int],
                response_ids: dict[tuple[int, str], int], digests: dict[str, str]) -> None:
        rows = []
        sha256, source, created = hashlib.sha256, self.source, self.created
        for example, prompt_id in zip(examples, prompt_ids, strict=True):
            def rid(text: str, pid: int = prompt_id) -> int:
                return response_ids[(pid, digests[text])]
            for kind, target, value, fields in _labels_of(example, rid):
                key = sha256(f"{IMPORT_ANNOTATOR}|{target}|{value}".encode()).hexdigest()
                rows.append((kind, target, prompt_id, fields.get("response_id"),
                             fields.get("left_id"), fields.get("right_id"), value,
                             IMPORT_ANNOTATOR, "import", source, key, created))
        self._insert(
            "INSERT OR IGNORE INTO labels (kind, target, prompt_id, response_id, left_id,"
            " right_id, value, annotator, annotator_kind, source, import_key, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows, 2)

    def _lookup(self, sql: str, keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start:start + CHUNK]
            found.update(self.db.conn.execute(sql.format(",".join("?" * len(chunk))), chunk))
        return found


def _response_texts(examples: list[Example], prompt_ids: list[int]
                    ) -> Iterable[tuple[int, str]]:
    for example, prompt_id in zip(examples, prompt_ids, strict=True):
        for text in _texts(example):
            yield prompt_id, text


def _texts(example: Example) -> Iterable[str]:
    """The response texts a row holds."""
    for text in (example.gold, example.chosen, example.rejected, example.completion):
        if text is not None:
            yield text


def _labels_of(example: Example, rid: Callable[[str], ResponseKey]
               ) -> Iterable[tuple[str, str, str, dict[str, ResponseKey]]]:
    """The labels a person would have made to say what the row says. ``rid`` names each
    response: its id when writing, its text hash when counting targets ahead."""
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
    for file in input_files(path):
        with file.open("rb") as handle:
            for block in iter(partial(handle.read, 1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
