"""Summaries the store keeps up to date as it is written, so the Data page never scans a
million rows: per-prompt response and label counts, which label events still count, a
prompt-tag table, the duplicate-prompt count, and which prompts' readiness is stale.

Triggers maintain them, so every writer (the app, the CLI, a backend process, an import)
keeps them right without knowing about them. ``SCHEMA`` is applied once by migration m009
(studio/db/schema.py) after a backfill of the existing rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlite_utils import Database

from studio.db.search import CATCH_UP as SEARCH_CATCH_UP
from studio.db.search import has_index

# The key two prompts are duplicates under (duplicate_prompts in overview.py).
DUPLICATE_KEY = "lower(trim(text)), coalesce(system, '')"
_SAME_KEY = ("lower(trim(p.text)) = lower(trim({row}.text)) AND coalesce(p.system, '') ="
             " coalesce({row}.system, '') AND p.id != {row}.id")

TABLES = """
CREATE TABLE prompt_tags (tag TEXT NOT NULL, prompt_id INTEGER NOT NULL,
                          PRIMARY KEY (tag, prompt_id)) WITHOUT ROWID;
CREATE INDEX prompt_tags_prompt ON prompt_tags (prompt_id);
-- Prompts whose readiness contribution must be derived again (see studio/data/readiness.py).
CREATE TABLE readiness_dirty (prompt_id INTEGER PRIMARY KEY);
CREATE TABLE readiness_prompt (prompt_id INTEGER PRIMARY KEY, sft INTEGER NOT NULL,
    dpo INTEGER NOT NULL, kto_up INTEGER NOT NULL, kto_down INTEGER NOT NULL,
    conflicts INTEGER NOT NULL);
-- One row: the sums of readiness_prompt, and prompts beyond the first with the same key.
CREATE TABLE store_totals (id INTEGER PRIMARY KEY CHECK (id = 1), sft INTEGER NOT NULL,
    dpo INTEGER NOT NULL, kto_up INTEGER NOT NULL, kto_down INTEGER NOT NULL,
    conflicts INTEGER NOT NULL, duplicates INTEGER NOT NULL);
"""

INDEXES = f"""
-- The rowid again, as a narrow index: a page far down in id order skips rows along this
-- (a few bytes an entry) instead of along the table's full rows; count(*) reads it too.
CREATE INDEX prompts_id ON prompts (id);
CREATE INDEX prompts_label_count ON prompts (label_count);
CREATE INDEX prompts_response_count ON prompts (response_count);
CREATE INDEX prompts_created ON prompts (created_at);
CREATE INDEX prompts_excerpt ON prompts (substr(text, 1, 64));
CREATE INDEX prompts_duplicate_key ON prompts ({DUPLICATE_KEY});
-- The events that count: the latest per (target, annotator), not a retraction.
CREATE INDEX labels_current_kind ON labels (kind, prompt_id)
    WHERE superseded = 0 AND value != 'retracted';
CREATE INDEX labels_current_annotator ON labels (annotator, prompt_id)
    WHERE superseded = 0 AND value != 'retracted';
CREATE INDEX labels_annotator_kind ON labels (annotator, kind, id);
-- Foreign-key children: deleting a prompt's responses checks that no label or edited response
-- still points at them, which without these reads every label and response.
CREATE INDEX labels_response ON labels (response_id) WHERE response_id IS NOT NULL;
CREATE INDEX labels_left ON labels (left_id) WHERE left_id IS NOT NULL;
CREATE INDEX labels_right ON labels (right_id) WHERE right_id IS NOT NULL;
CREATE INDEX labels_parent ON labels (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX responses_parent ON responses (parent_id) WHERE parent_id IS NOT NULL;
"""

BACKFILL = f"""
UPDATE labels SET superseded = 1 WHERE EXISTS (SELECT 1 FROM labels u
    WHERE u.target = labels.target AND u.annotator = labels.annotator AND u.id > labels.id);
UPDATE prompts SET response_count = n FROM (SELECT prompt_id, count(*) AS n FROM responses
    GROUP BY prompt_id) AS r WHERE prompts.id = r.prompt_id;
UPDATE prompts SET label_count = n FROM (SELECT prompt_id, count(*) AS n FROM labels
    WHERE superseded = 0 AND value != 'retracted' GROUP BY prompt_id) AS l
    WHERE prompts.id = l.prompt_id;
INSERT OR IGNORE INTO prompt_tags (tag, prompt_id)
    SELECT j.value, p.id FROM prompts p, json_each(p.tags) j WHERE j.type = 'text';
INSERT INTO readiness_dirty (prompt_id) SELECT DISTINCT prompt_id FROM labels;
INSERT INTO store_totals VALUES (1, 0, 0, 0, 0, 0,
    (SELECT count(*) FROM prompts) - (SELECT count(*) FROM
        (SELECT 1 FROM prompts GROUP BY {DUPLICATE_KEY})));
"""

# Each trigger body runs inside the writing statement's transaction: all or nothing with it.
TRIGGERS = f"""
CREATE TRIGGER labels_counted AFTER INSERT ON labels BEGIN
    UPDATE prompts SET label_count = label_count + (NEW.value != 'retracted')
        - (SELECT count(*) FROM labels WHERE target = NEW.target AND annotator = NEW.annotator
           AND id < NEW.id AND superseded = 0 AND value != 'retracted')
        WHERE id = NEW.prompt_id;
    UPDATE labels SET superseded = 1 WHERE target = NEW.target AND annotator = NEW.annotator
        AND id < NEW.id AND superseded = 0;
    INSERT OR IGNORE INTO readiness_dirty (prompt_id) VALUES (NEW.prompt_id);
END;
CREATE TRIGGER labels_removed AFTER DELETE ON labels BEGIN
    UPDATE labels SET superseded = 0 WHERE OLD.superseded = 0 AND id = (SELECT max(id)
        FROM labels WHERE target = OLD.target AND annotator = OLD.annotator);
    UPDATE prompts SET label_count = (SELECT count(*) FROM labels
        WHERE prompt_id = OLD.prompt_id AND superseded = 0 AND value != 'retracted')
        WHERE id = OLD.prompt_id;
    INSERT OR IGNORE INTO readiness_dirty (prompt_id) VALUES (OLD.prompt_id);
END;
CREATE TRIGGER labels_accepted AFTER UPDATE OF accepted, value, kind ON labels BEGIN
    INSERT OR IGNORE INTO readiness_dirty (prompt_id) VALUES (NEW.prompt_id);
END;
CREATE TRIGGER responses_counted AFTER INSERT ON responses BEGIN
    UPDATE prompts SET response_count = response_count + 1 WHERE id = NEW.prompt_id;
END;
CREATE TRIGGER responses_removed AFTER DELETE ON responses BEGIN
    UPDATE prompts SET response_count = response_count - 1 WHERE id = OLD.prompt_id;
END;
CREATE TRIGGER prompts_added AFTER INSERT ON prompts BEGIN
    INSERT OR IGNORE INTO prompt_tags (tag, prompt_id)
        SELECT value, NEW.id FROM json_each(NEW.tags) WHERE type = 'text';
    UPDATE store_totals SET duplicates = duplicates + 1 WHERE EXISTS
        (SELECT 1 FROM prompts p WHERE {_SAME_KEY.format(row="NEW")});
END;
CREATE TRIGGER prompts_removed AFTER DELETE ON prompts BEGIN
    DELETE FROM prompt_tags WHERE prompt_id = OLD.id;
    UPDATE store_totals SET duplicates = duplicates - 1 WHERE EXISTS
        (SELECT 1 FROM prompts p WHERE {_SAME_KEY.format(row="OLD")});
END;
CREATE TRIGGER prompts_retagged AFTER UPDATE OF tags ON prompts BEGIN
    DELETE FROM prompt_tags WHERE prompt_id = OLD.id;
    INSERT OR IGNORE INTO prompt_tags (tag, prompt_id)
        SELECT value, NEW.id FROM json_each(NEW.tags) WHERE type = 'text';
END;
CREATE TRIGGER prompts_rekeyed AFTER UPDATE OF text, system ON prompts BEGIN
    UPDATE store_totals SET duplicates = duplicates
        - EXISTS (SELECT 1 FROM prompts p WHERE {_SAME_KEY.format(row="OLD")}
                  AND p.id != NEW.id)
        + EXISTS (SELECT 1 FROM prompts p WHERE {_SAME_KEY.format(row="NEW")});
END;
"""


# What the triggers do row by row, done once for every row above the marks (ids only grow:
# a new row's id is above every id that existed). Used by bulk_writes. Both counts of a
# prompt are set in one UPDATE: each pass over the prompts rewrites every row it touches.
# With :counted, the caller inserted its new prompts with both counts already right, so only
# older prompts are recounted (rewriting a million new rows took 5 s of a 93 s import).
# readiness_dirty takes labels' prompt ids without DISTINCT: a DISTINCT made SQLite walk the
# whole prompt_id index for every batch (9 s of that import), and OR IGNORE drops repeats.
CATCH_UP = f"""
UPDATE labels SET superseded = 1 WHERE id IN (SELECT old.id FROM labels new JOIN labels old
    ON old.target = new.target AND old.annotator = new.annotator AND old.id < new.id
    WHERE new.id > :labels AND old.superseded = 0);
UPDATE prompts SET label_count = (SELECT count(*) FROM labels
    WHERE prompt_id = prompts.id AND superseded = 0 AND value != 'retracted'),
    response_count = response_count + (SELECT count(*) FROM responses r
        WHERE r.prompt_id = prompts.id AND r.id > :responses)
    WHERE id IN (SELECT prompt_id FROM labels WHERE id > :labels
                 UNION SELECT prompt_id FROM responses WHERE id > :responses)
    AND (id <= :prompts OR NOT :counted);
INSERT OR IGNORE INTO readiness_dirty (prompt_id)
    SELECT prompt_id FROM labels WHERE id > :labels;
INSERT OR IGNORE INTO prompt_tags (tag, prompt_id) SELECT j.value, p.id
    FROM prompts p, json_each(p.tags) j WHERE p.id > :prompts AND j.type = 'text';
UPDATE store_totals SET duplicates = duplicates + (SELECT count(*) FROM prompts new
    WHERE new.id > :prompts AND EXISTS (SELECT 1 FROM prompts p
        WHERE {_SAME_KEY.format(row="new")} AND p.id < new.id));
"""
BULK_TRIGGERS = ("labels_counted", "responses_counted", "prompts_added")
SEARCH_CHUNK = 50_000  # new prompts per search catch-up (see bulk_writes)
# Indexes a bulk write reads (the catch-up statements, the importer's lookups) and unique ones
# (INSERT OR IGNORE needs them): never deferred. Every other index of the three tables is.
BULK_KEEPS = frozenset({"idx_labels_target_annotator_id", "idx_labels_prompt_id",
                        "prompts_duplicate_key"})
BULK_TABLES = ("prompts", "responses", "labels")


@contextmanager
def bulk_writes(db: Database, counted: bool = False, defer_indexes: bool = False
                ) -> Iterator[Callable[[], None]]:
    """Inserts of many prompts, responses and labels (no updates or deletes) with the
    per-row triggers off, then the summaries (and the search index) brought up to date in one
    pass each: several times faster for an import. Must run inside the caller's write
    transaction, so other connections never see the triggers missing (DDL is transactional
    in SQLite). A trigger skipped by a ``WHEN`` guard instead still costs every row its
    set-up: measured 13.6k -> 7.8k rows/s.

    It yields ``catch_up``: called after each batch, it brings the summaries up to date for
    the rows written since its last call, so the work is spread with the batches (and their
    progress) instead of all coming after the last one.

    ``counted``: every prompt the caller inserts already carries its ``response_count`` and
    ``label_count`` for the rows it adds with it in the same batch (the importer knows them),
    so the catch-up recounts only prompts that existed before the batch.

    The search index catches up every SEARCH_CHUNK new prompts, not every batch: FTS5 writes
    its in-memory index out as a new segment at the start of each statement that may change
    several rows (its statement journal), so indexing each batch wrote a segment per batch
    and merged them over and over (17 s of a 1M-row import, against 8 s this way).

    ``defer_indexes``: the secondary indexes nothing here reads are dropped for the write and
    built again at its end, sorted, in the same transaction (for a write as big as the store:
    a million rows into an empty one wrote 79.7 s with them, 65.2 s + 6.7 s to build them)."""
    if not db.conn.in_transaction:
        raise RuntimeError("bulk_writes needs an open write transaction")
    marks = _marks(db)
    searched = {"prompts": marks["prompts"]} if has_index(db) else None  # indexed up to
    saved = {name: sql for name, sql in db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN"
        f" ({', '.join('?' * len(BULK_TRIGGERS))})", BULK_TRIGGERS)}
    for name in saved:
        db.execute(f"DROP TRIGGER {name}")
    deferred = _deferrable(db) if defer_indexes else {}
    for name in deferred:
        db.execute(f"DROP INDEX {name}")

    def catch_up(last: bool = False) -> None:
        for statement in _statements(CATCH_UP):
            db.execute(statement, {**marks, "counted": counted})
        marks.update(_marks(db))
        if searched is not None and (last or marks["prompts"] - searched["prompts"]
                                     >= SEARCH_CHUNK):
            db.execute(SEARCH_CATCH_UP, searched)  # the index (m011) exists: add new prompts
            searched["prompts"] = marks["prompts"]

    yield catch_up
    catch_up(last=True)
    for sql in [*deferred.values(), *saved.values()]:
        db.execute(sql)


def _deferrable(db: Database) -> dict[str, str]:
    """The indexes (name: CREATE statement) a bulk write may drop and build again after."""
    rows = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND"
        f" tbl_name IN ({', '.join('?' * len(BULK_TABLES))})", BULK_TABLES).fetchall()
    return {name: sql for name, sql in rows if name not in BULK_KEEPS
            and not sql.lstrip().upper().startswith("CREATE UNIQUE")}


def _marks(db: Database) -> dict[str, int]:
    """The highest id of each table: rows above it are the ones written since."""
    return {table: db.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
            for table in ("prompts", "responses", "labels")}


def add_summaries(db: Database) -> None:
    """Migration m009's body: columns, backfill, then indexes and triggers."""
    db.table("prompts").add_column("response_count", int, not_null_default=0)
    db.table("prompts").add_column("label_count", int, not_null_default=0)
    db.table("labels").add_column("superseded", int, not_null_default=0)
    for script in (TABLES, BACKFILL, INDEXES, TRIGGERS):
        for statement in _statements(script):
            db.execute(statement)


def _statements(script: str) -> list[str]:
    """Split a script at the ends of statements (a trigger body holds several)."""
    out, current, depth = [], [], 0
    for line in script.strip().splitlines():
        if line.lstrip().startswith("--"):
            continue
        current.append(line)
        stripped = line.strip()
        if stripped.endswith("BEGIN"):
            depth += 1
        if stripped == "END;":
            depth -= 1
        if stripped.endswith(";") and depth == 0:
            out.append("\n".join(current))
            current = []
    return out
