"""The label store: prompts, responses and append-only label events in SQLite.

Every label write is committed before the call returns, so a crash a moment later loses
nothing. Labels are never updated or deleted: an undo is a new event, and the latest event
per (annotator, target) is the one that counts.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from studio.db import search
from studio.db.records import (
    PAIR_VALUES,
    THUMB_VALUES,
    Label,
    Prompt,
    Response,
    normalized_key,
    now_iso,
    pair_target,
    prompt_hash,
    text_hash,
)
from studio.db.schema import migrations
from studio.db.sqlite_db import Database
from studio.errors import DiskFullError, InvalidLabelError, NotFoundError, StoreBusyError

HUMAN = "human"
# SQLite's own busy handler waits this long per attempt; a write then retries BEGIN IMMEDIATE
# until WRITE_PATIENCE_S, so a short import batch or a second labeler never fails a label.
BUSY_TIMEOUT_S = 10.0
WRITE_PATIENCE_S = 120.0


class Store:
    """One studio database. Open it with :meth:`open` (a file) or :meth:`memory` (tests)."""

    def __init__(self, db: Database):
        self.db = db
        self.db.execute("PRAGMA foreign_keys = ON")
        if migrations.pending(self.db):
            self._migrate()
        if search.unindexed(self.db):  # prompts put in by SQL, not by this class
            with self.atomic():
                search.index_unindexed(self.db)

    def _migrate(self) -> None:
        """Create or upgrade the schema while holding the write lock, so a second process
        opening a new data folder at the same moment waits, then finds nothing pending."""
        with self.atomic():
            migrations.apply(self.db)  # its own transactions become savepoints in ours

    @classmethod
    def open(cls, path: Path | str) -> Store:
        # check_same_thread=False: the UI's single store worker thread owns the connection.
        conn = sqlite3.connect(str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_S)
        db = Database(conn)
        _retry_locked(db.enable_wal)  # switching to WAL needs a moment of exclusive access
        # FULL makes each label commit durable even across a power cut, at ~1 fsync per label.
        db.execute("PRAGMA synchronous = FULL")
        return cls(db)

    @classmethod
    def memory(cls) -> Store:
        return cls(Database(memory=True))

    def close(self) -> None:
        self.db.close()

    def data_version(self) -> int:
        """SQLite's counter of commits made by *other* connections (child processes, the CLI).

        It stays put for this connection's own writes, so a change means someone else wrote.
        """
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    def atomic(self, patience: float = WRITE_PATIENCE_S) -> AbstractContextManager[Database]:
        """One write transaction (a savepoint when nested): all or nothing.

        It starts with BEGIN IMMEDIATE: a deferred BEGIN that reads and then writes fails at
        once with "database is locked" when another process wrote in between, whatever the
        busy timeout."""
        if self.db.conn.in_transaction:
            return self.db.atomic()
        return _immediate(self.db, patience)

    @contextmanager
    def read_snapshot(self) -> Iterator[Database]:
        """Several reads that see one state of the database (a deferred transaction that
        only reads; other connections keep writing meanwhile, WAL keeps this view)."""
        if self.db.conn.in_transaction:
            yield self.db
            return
        self.db.conn.execute("BEGIN")
        try:
            yield self.db
        finally:
            self.db.conn.rollback()

    # ---- prompts -----------------------------------------------------------------------
    def add_prompt(
        self,
        messages: list[dict[str, str]] | str,
        system: str | None = None,
        tags: Sequence[str] = (),
        source: str = "manual",
    ) -> int:
        """Store a prompt, or return the id of the identical one already stored."""
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        digest = prompt_hash(messages, system)
        existing = self._id_by_hash("prompts", digest)
        if existing is not None:
            return existing
        with self.atomic():
            # OR IGNORE: another process may have stored the same prompt since the check.
            added = self.db.execute(
                "INSERT OR IGNORE INTO prompts (hash, messages, system, text, tags, source,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [digest, json.dumps(messages, ensure_ascii=False), system,
                 _last_user_text(messages), json.dumps(list(tags)), source, now_iso()],
            ).rowcount
            found = self._id_by_hash("prompts", digest)
            if added and found is not None:
                self.db.execute(search.INDEX_ONE, [found])
        return int(found or 0)

    def prompt(self, prompt_id: int) -> Prompt:
        row = self._row("prompts", prompt_id)
        return Prompt.from_row(row)

    def update_prompt(
        self, prompt_id: int, *, tags: Sequence[str] | None = None, text: str | None = None
    ) -> Prompt:
        """Change a prompt's tags or its (single-turn) text."""
        current = self.prompt(prompt_id)
        updates: dict[str, Any] = {}
        if tags is not None:
            updates["tags"] = json.dumps(list(tags))
        if text is not None and text != current.text:
            messages = [*current.messages[:-1], {"role": "user", "content": text}]
            updates.update(
                messages=json.dumps(messages, ensure_ascii=False),
                text=text,
                hash=prompt_hash(messages, current.system),
                norm_key=normalized_key(messages, current.system),
            )
        if updates:
            assignments = ", ".join(f"{column} = ?" for column in updates)
            with self.atomic():
                reindex = "text" in updates
                if reindex:  # out of the index with the text it was indexed with
                    self.db.execute(search.UNINDEX_ONE, [prompt_id])
                self.db.execute(
                    f"UPDATE prompts SET {assignments} WHERE id = ?", [*updates.values(), prompt_id]
                )
                if reindex:
                    self.db.execute(search.INDEX_ONE, [prompt_id])
        return self.prompt(prompt_id)

    def delete_prompt(self, prompt_id: int) -> None:
        """Delete a prompt with its responses and their labels (the person confirmed it)."""
        self._row("prompts", prompt_id)
        with self.atomic():
            self.db.execute("DELETE FROM labels WHERE prompt_id = ?", [prompt_id])
            self.db.execute(
                "UPDATE responses SET parent_id = NULL WHERE parent_id IN"
                " (SELECT id FROM responses WHERE prompt_id = ?)",
                [prompt_id],
            )
            self.db.execute("DELETE FROM responses WHERE prompt_id = ?", [prompt_id])
            self.db.execute(search.UNINDEX_ONE, [prompt_id])
            self.db.execute("DELETE FROM prompts WHERE id = ?", [prompt_id])

    # ---- responses ---------------------------------------------------------------------
    def add_response(
        self,
        prompt_id: int,
        text: str,
        origin: str = HUMAN,
        model: str | None = None,
        gen_params: dict[str, Any] | None = None,
        source: str | None = None,
        parent_id: int | None = None,
    ) -> int:
        """Store a response, or return the id of the same text already stored for the prompt."""
        self._row("prompts", prompt_id)
        digest = text_hash(text)
        row = self.db.execute(
            "SELECT id FROM responses WHERE prompt_id = ? AND hash = ?", [prompt_id, digest]
        ).fetchone()
        if row:
            return int(row[0])
        with self.atomic():
            self.db.execute(
                "INSERT OR IGNORE INTO responses (prompt_id, hash, text, origin, model, gen_params,"
                " source, parent_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [prompt_id, digest, text, origin, model,
                 json.dumps(gen_params) if gen_params else None, source, parent_id, now_iso()],
            )
            found = self.db.execute(
                "SELECT id FROM responses WHERE prompt_id = ? AND hash = ?", [prompt_id, digest]
            ).fetchone()
        return int(found[0])

    def response(self, response_id: int) -> Response:
        return Response.from_row(self._row("responses", response_id))

    def responses_by_id(self, ids: Iterable[int]) -> dict[int, Response]:
        """Many responses in few queries (exports touch every labeled response)."""
        return {row["id"]: Response.from_row(row) for row in self._rows_by_id("responses", ids)}

    def prompts_by_id(self, ids: Iterable[int]) -> dict[int, Prompt]:
        return {row["id"]: Prompt.from_row(row) for row in self._rows_by_id("prompts", ids)}

    def _rows_by_id(self, table: str, ids: Iterable[int]) -> Iterable[dict[str, Any]]:
        unique = sorted(set(ids))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            yield from self.db.query(
                f"SELECT * FROM {table} WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )

    def responses_for(self, prompt_id: int) -> list[Response]:
        rows = self.db.query(
            "SELECT * FROM responses WHERE prompt_id = ? ORDER BY id", [prompt_id]
        )
        return [Response.from_row(row) for row in rows]

    # ---- labels ------------------------------------------------------------------------
    def label_thumb(
        self, response_id: int, value: str, annotator: str,
        reason: str | None = None, source: str = "label", annotator_kind: str = HUMAN,
    ) -> Label:
        """Thumbs up or down on one response (KTO data). Committed before it returns."""
        if value not in THUMB_VALUES:
            raise InvalidLabelError(f"a thumb is 'up' or 'down', not {value!r}")
        response = self.response(response_id)
        return self._append_label(
            kind="thumb", target=f"thumb:{response_id}", prompt_id=response.prompt_id,
            response_id=response_id, value=value, annotator=annotator, reason=reason,
            source=source, annotator_kind=annotator_kind,
        )

    def label_pair(
        self, left_id: int, right_id: int, value: str, annotator: str,
        reason: str | None = None, source: str = "label", annotator_kind: str = HUMAN,
    ) -> Label:
        """A pairwise judgement of the responses shown left and right (DPO data)."""
        if value not in PAIR_VALUES:
            raise InvalidLabelError(f"a pair label is one of {sorted(PAIR_VALUES)}, not {value!r}")
        left, right = self.response(left_id), self.response(right_id)
        if left.id == right.id or left.prompt_id != right.prompt_id:
            raise InvalidLabelError("a pair compares two different responses to the same prompt")
        return self._append_label(
            kind="pair", target=pair_target(left_id, right_id), prompt_id=left.prompt_id,
            left_id=left_id, right_id=right_id, value=value, annotator=annotator,
            reason=reason, source=source, annotator_kind=annotator_kind,
        )

    def label_gold(
        self, prompt_id: int, text: str, annotator: str, parent_id: int | None = None,
        source: str = "label", annotator_kind: str = HUMAN,
    ) -> Label:
        """Store an edited or freshly written "gold" response (SFT data), beating its parent."""
        if not text.strip():
            raise InvalidLabelError("a gold response cannot be empty")
        if parent_id is not None and self.response(parent_id).prompt_id != prompt_id:
            raise InvalidLabelError("the edited response belongs to another prompt")
        with self.atomic():
            gold_id = self.add_response(
                prompt_id, text, origin=HUMAN, source=source, parent_id=parent_id
            )
            return self._append_label(
                kind="gold", target=f"gold:{gold_id}", prompt_id=prompt_id,
                response_id=gold_id, parent_id=parent_id, value="gold", annotator=annotator,
                source=source, annotator_kind=annotator_kind,
            )

    def undo(self, label_id: int) -> Label:
        """Undo a label: a new event that restores what the annotator had before it."""
        label = self.label(label_id)
        previous = self.db.execute(
            "SELECT value FROM labels WHERE target = ? AND annotator = ? AND id < ?"
            " ORDER BY id DESC LIMIT 1",
            [label.target, label.annotator, label_id],
        ).fetchone()
        return self._repeat(label, previous[0] if previous else "retracted")

    def redo(self, label_id: int) -> Label:
        """Redo an undone label: a new event with the value the undone label had."""
        label = self.label(label_id)
        return self._repeat(label, label.value)

    def label(self, label_id: int) -> Label:
        return Label.from_row(self._row("labels", label_id))

    def current_labels(
        self, kind: str | None = None, include_unaccepted_judge: bool = False,
        prompt_ids: Iterable[int] | None = None, annotator_kinds: Iterable[str] | None = None,
    ) -> list[Label]:
        """The labels that count: the latest per (annotator, target), minus retractions;
        ``annotator_kinds``: only those of these kinds (a person's own among a million
        imported: filtered here, not after building every label).

        ``superseded`` marks every event with a later one on its target by the same annotator
        (a trigger keeps it: studio/db/summaries.py), so no window over the table is needed.
        """
        where: list[str] = ["superseded = 0", "value != 'retracted'"]
        params: list[str | int] = []
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if not include_unaccepted_judge:
            where.append("(annotator_kind != 'judge' OR accepted = 1)")
        if prompt_ids is not None:
            ids = list(prompt_ids)
            where.append(f"prompt_id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        if annotator_kinds is not None:
            kinds = sorted(annotator_kinds)
            where.append(f"annotator_kind IN ({','.join('?' * len(kinds))})")
            params.extend(kinds)
        sql = "SELECT * FROM labels WHERE " + " AND ".join(where) + " ORDER BY id"
        return [Label.from_row(row) for row in self.db.query(sql, params)]

    def history(self, target: str) -> list[Label]:
        """Every event on one target, oldest first (the audit trail)."""
        rows = self.db.query("SELECT * FROM labels WHERE target = ? ORDER BY id", [target])
        return [Label.from_row(row) for row in rows]

    def counts(self) -> dict[str, int]:
        """Row counts for the status bar and readiness panel."""
        return {
            table: self.db[table].count for table in ("prompts", "responses", "labels")
        }

    # ---- internals ---------------------------------------------------------------------
    def _repeat(self, label: Label, value: str) -> Label:
        return self._append_label(
            kind=label.kind, target=label.target, prompt_id=label.prompt_id,
            response_id=label.response_id, left_id=label.left_id, right_id=label.right_id,
            parent_id=label.parent_id, value=value, annotator=label.annotator,
            reason=label.reason, source=label.source, annotator_kind=label.annotator_kind,
        )

    def _append_label(self, **fields: Any) -> Label:
        if not fields.get("annotator"):
            raise InvalidLabelError("every label needs an annotator name (set it in Settings)")
        fields["created_at"] = now_iso()
        columns = ", ".join(fields)
        with self.atomic():
            cursor = self.db.execute(
                f"INSERT INTO labels ({columns}) VALUES ({', '.join('?' * len(fields))})",
                list(fields.values()),
            )
        return self.label(int(cursor.lastrowid or 0))

    def _row(self, table: str, row_id: int) -> dict[str, Any]:
        rows = list(self.db.query(f"SELECT * FROM {table} WHERE id = ?", [row_id]))
        if not rows:
            raise NotFoundError(f"there is no {table[:-1]} with id {row_id}")
        return rows[0]

    def _id_by_hash(self, table: str, digest: str) -> int | None:
        row = self.db.execute(f"SELECT id FROM {table} WHERE hash = ?", [digest]).fetchone()
        return int(row[0]) if row else None


@contextmanager
def _immediate(db: Database, patience: float = WRITE_PATIENCE_S) -> Iterator[Database]:
    _begin_immediate(db, patience)
    try:
        yield db
        _retry_locked(db.conn.commit)
    except sqlite3.OperationalError as error:
        db.conn.rollback()
        if "full" in str(error):  # "database or disk is full": nothing of it was stored
            raise DiskFullError.at(_db_folder(db), "writing to the database") from error
        raise
    except BaseException:
        db.conn.rollback()
        raise


def _begin_immediate(db: Database, patience: float = WRITE_PATIENCE_S) -> None:
    """Take the write lock, polling every few ms. SQLite's own busy handler sleeps up to 100 ms
    at a time and keeps missing the short gaps between an import's batches, so a label could
    wait for the whole import; polling gets in at the next gap."""
    conn = db.conn
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        _retry_locked(lambda: conn.execute("BEGIN IMMEDIATE"), pause=0.002, patience=patience)
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")


def _db_folder(db: Database) -> Path:
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]).parent if row and row[2] else Path.cwd()


def _retry_locked(action: Any, pause: float = 0.05, patience: float = WRITE_PATIENCE_S) -> None:
    """Run ``action``, retrying while another process holds the write lock."""
    deadline = time.monotonic() + patience
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            if time.monotonic() > deadline:
                raise StoreBusyError(
                    f"the database stayed locked by another process for {patience:.0f}"
                    " s; close the other Tuning Studio window or job and try again"
                ) from error
            time.sleep(pause)


def _last_user_text(messages: list[dict[str, str]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return message.get("content", "")
    return messages[-1].get("content", "") if messages else ""
