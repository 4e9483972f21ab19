"""Substring search over prompts with SQLite's FTS5 trigram index (issue 25).

A ``LIKE '%term%'`` over a million prompts reads every row (0.4-0.5 s); the trigram index
finds the rows holding every three-character piece of the term in order, which is the same
substring match, case-insensitive. Terms of one or two characters have no trigram: they fall
back to ``LIKE`` over the same text, which on such short terms matches most rows, so a page
fills quickly; their count reads every prompt's text (0.2-0.3 s at a million prompts).

The index holds the text of every turn of a prompt (``messages``' contents, one per line),
not the JSON: "role" or "content" no longer match every prompt. It is an external-content
table over a view, so it stores only the index. The store's three prompt writes (add, edit,
delete) keep it in step inside their transaction, and bulk imports add their rows every
50k prompts (``bulk_writes`` in studio/db/summaries.py); no trigger touches it (see
:func:`drop_search_triggers` for why). Prompts written by other means than the store are
found once a store next opens on the database (:func:`unindexed`), as long as their ids are
above every indexed one (SQLite's own choice of ids).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from studio.db.sqlite_db import Database

MIN_TRIGRAM = 3  # shorter terms cannot use the index
# FTS5 gathers a transaction's new index entries in memory and writes them out as a segment
# whenever this many bytes fill, merging segments as they pile up. At its default of 1 MB a
# million-prompt import wrote hundreds of small segments and merged them over and over: the
# index alone took 14.4 s at 1M prompts, 8.0 s at 64 MB (bench/results/, 2026-12-07). Only a
# bulk write ever fills it; a label's commit flushes a few entries.
HASH_BYTES = 64 * 1024 * 1024
# A term in this share of the prompts (and at least DENSE_MIN of them) is "dense": a page
# walks its sort order checking rows (a match every 50 rows or fewer) instead of listing
# every match from the index first (300 ms for 375k matches at 1M prompts).
DENSE_SHARE = 0.02
DENSE_MIN = 1000

# Prompts of more than one turn, the rows of the partial index prompts_multi_turn (m014): the
# condition must be written exactly so for SQLite to use it.
MULTI_TURN = "json_array_length(messages) > 1"
MULTI_TURN_INDEX = f"CREATE INDEX prompts_multi_turn ON prompts (id) WHERE {MULTI_TURN}"

# The searchable text of the prompt row ``row``: every turn's content, in order. A prompt of
# one turn is its text (the last user turn), with no JSON to walk: most prompts, at import.
_BODY = ("(CASE WHEN json_array_length({row}.messages) = 1 THEN {row}.text ELSE"
         " (SELECT group_concat(json_extract(j.value, '$.content'), char(10))"
         " FROM json_each({row}.messages) j) END)")

_LIKE = "LIKE ? ESCAPE '\\'"
# A multi-turn prompt ``p`` (through its partial index), and then its turns' text.
_MULTI_TURN_BODY = (f"p.id IN (SELECT id FROM prompts WHERE {MULTI_TURN}) AND"
                    f" {_BODY.format(row='p')}")

SCHEMA = f"""
CREATE VIEW prompt_search_body AS SELECT p.id AS id, {_BODY.format(row="p")} AS body
    FROM prompts p;
CREATE VIRTUAL TABLE prompt_search USING fts5(body, content='prompt_search_body',
    content_rowid='id', tokenize='trigram');
CREATE TRIGGER prompts_search_added AFTER INSERT ON prompts BEGIN
    INSERT INTO prompt_search (rowid, body) VALUES (NEW.id, {_BODY.format(row="NEW")});
END;
CREATE TRIGGER prompts_search_removed AFTER DELETE ON prompts BEGIN
    INSERT INTO prompt_search (prompt_search, rowid, body)
        VALUES ('delete', OLD.id, {_BODY.format(row="OLD")});
END;
CREATE TRIGGER prompts_search_changed AFTER UPDATE OF messages, text ON prompts BEGIN
    INSERT INTO prompt_search (prompt_search, rowid, body)
        VALUES ('delete', OLD.id, {_BODY.format(row="OLD")});
    INSERT INTO prompt_search (rowid, body) VALUES (NEW.id, {_BODY.format(row="NEW")});
END;
"""

# One prompt into the index, or out of it (FTS5's 'delete' needs the text it indexed).
INDEX_ONE = ("INSERT INTO prompt_search (rowid, body) SELECT id, body FROM prompt_search_body"
             " WHERE id = ?")
UNINDEX_ONE = ("INSERT INTO prompt_search (prompt_search, rowid, body) SELECT 'delete', id,"
               " body FROM prompt_search_body WHERE id = ?")
SEARCH_TRIGGERS = ("prompts_search_added", "prompts_search_removed", "prompts_search_changed")

# The rows a bulk write added above the prompts mark, indexed in one statement.
CATCH_UP = ("INSERT INTO prompt_search (rowid, body) SELECT id, body FROM prompt_search_body"
            " WHERE id > :prompts")
BULK_TRIGGER = "prompts_search_added"


def add_search(db: Database) -> None:
    """Migration m011's body: the index, filled from the existing prompts, and its triggers."""
    for statement in _statements(SCHEMA):
        db.execute(statement)
    set_hash_size(db)
    # Not FTS5's 'rebuild', which refuses this view (its json_each); the same rows, inserted.
    db.execute(CATCH_UP, {"prompts": 0})


def set_hash_size(db: Database) -> None:
    """Migration m013's body (and m011's, before its backfill): :data:`HASH_BYTES`, kept in
    the index's own config. An SQLite whose FTS5 predates the 'hashsize' option refuses it
    ("SQL logic error"); that index keeps the default, slower to import into but the same."""
    try:
        db.execute("INSERT INTO prompt_search (prompt_search, rank) VALUES ('hashsize', ?)",
                   [HASH_BYTES])
    except sqlite3.OperationalError:
        pass


def drop_search_triggers(db: Database) -> None:
    """Migration m012's body: the store's three prompt writes keep the index from now on
    (:data:`INDEX_ONE`, :data:`UNINDEX_ONE`), not triggers. With the FTS5 table inside a
    trigger on ``prompts``, a process writing a prompt just after another's import changed
    the schema failed now and then with "no such table: prompts"; and a trigger skipped for
    an import still costs every row its set-up (13.6k -> 7.8k rows/s)."""
    for name in SEARCH_TRIGGERS:
        db.execute(f"DROP TRIGGER IF EXISTS {name}")


def unindexed(db: Database) -> bool:
    """Whether prompts lie above the highest one indexed: written by other means than the
    store (a hand-made SQL insert, a tool), which keeps the index itself. Two index lookups."""
    if not has_index(db):
        return False
    return bool(db.execute(
        "SELECT (SELECT coalesce(max(id), 0) FROM prompts) >"
        " (SELECT coalesce(max(id), 0) FROM prompt_search_docsize)").fetchone()[0])


def index_unindexed(db: Database) -> None:
    """Index the prompts :func:`unindexed` finds (the store does it when it opens). Inside
    the caller's write transaction, which re-reads the mark: another process may have done
    it meanwhile."""
    mark = db.execute("SELECT coalesce(max(id), 0) FROM prompt_search_docsize").fetchone()[0]
    db.execute(CATCH_UP, {"prompts": mark})


def has_index(db: Database) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'prompt_search'"
                      ).fetchone() is not None


def condition(term: str) -> tuple[str, list[Any]]:
    """SQL true for the prompts ``p`` whose text holds ``term`` (stripped), and its params."""
    term = term.strip()
    if len(term) < MIN_TRIGRAM:
        # The same text as the index: a one-turn prompt's text, every turn of the others
        # (found through their partial index, m014). A LIKE over the messages' JSON matched
        # its keys: "co", "ro" or "us" found every prompt.
        pattern = "%" + _escape_like(term) + "%"
        return f"(p.text {_LIKE} OR ({_MULTI_TURN_BODY} {_LIKE}))", [pattern, pattern]
    return "p.id IN (SELECT rowid FROM prompt_search WHERE prompt_search MATCH ?)", \
        [match_phrase(term)]


def short_count(term: str) -> tuple[str, list[Any]]:
    """A count of the prompts holding a one- or two-character ``term``, read in two parts:
    every prompt's text, then only the multi-turn prompts (their partial index) whose text
    does not hold it. :func:`condition`'s OR checks each prompt against the multi-turn list:
    328 ms for a rare pair of letters at 1M prompts, 232 ms this way."""
    pattern = "%" + _escape_like(term.strip()) + "%"
    return (f"SELECT (SELECT count(*) FROM prompts p WHERE p.text {_LIKE}) + (SELECT count(*)"
            f" FROM prompts p WHERE NOT p.text {_LIKE} AND {_MULTI_TURN_BODY} {_LIKE})",
            [pattern] * 3)


def page_condition(db: Database, term: str) -> tuple[str, list[Any]]:
    """:func:`condition` for one page, chosen by how many prompts hold the term.

    The index lists matches up to DENSE_SHARE of the prompts. Fewer: those ids are the
    condition (listed once, not again by the page query). More: a match comes every few
    rows, so the page walks its sort order checking each row and stops at a full page,
    instead of listing every match first (300 ms for 375k matches at 1M prompts). The row
    check is LIKE over the same text the index holds: the same matches for an ASCII term."""
    term = term.strip()
    if len(term) < MIN_TRIGRAM:
        return condition(term)
    last = db.execute("SELECT coalesce(max(id), 0) FROM prompts").fetchone()[0]
    enough = max(DENSE_MIN, int(last * DENSE_SHARE))
    ids = [row[0] for row in db.execute(
        "SELECT rowid FROM prompt_search WHERE prompt_search MATCH ? LIMIT ?",
        [match_phrase(term), enough])]
    if len(ids) < enough:
        return "p.id IN (SELECT value FROM json_each(?))", [json.dumps(ids)]
    if term.isascii():
        return f"{_BODY.format(row='p')} LIKE ? ESCAPE '\\'", ["%" + _escape_like(term) + "%"]
    return condition(term)


def match_phrase(term: str) -> str:
    """The term as one FTS5 string: with the trigram tokenizer, a substring match."""
    return '"' + term.replace('"', '""') + '"'


def _statements(script: str) -> list[str]:
    """Split a script at the ends of statements (a trigger body holds several)."""
    out, current = [], []
    for line in script.strip().splitlines():
        current.append(line)
        if line.strip() == "END;" or (line.strip().endswith(";") and not _in_trigger(current)):
            out.append("\n".join(current))
            current = []
    return out


def _in_trigger(lines: list[str]) -> bool:
    return lines[0].lstrip().startswith("CREATE TRIGGER")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
