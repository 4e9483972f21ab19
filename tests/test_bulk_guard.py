"""The search index is kept by the store's own prompt writes, not by triggers: with the FTS5
table inside a trigger on ``prompts``, a process writing a prompt just after another's import
(which drops and re-creates the summary triggers in its transaction) failed now and then with
"no such table: prompts"; tests/faults/test_fault_sqlite.py runs that race."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.data.importing import import_path, writer
from studio.db import summaries
from studio.db.search import SEARCH_TRIGGERS
from studio.db.store import Store


def _hits(store: Store, phrase: str) -> int:
    return int(store.db.execute("SELECT count(*) FROM prompt_search WHERE prompt_search MATCH"
                                " ?", [f'"{phrase}"']).fetchone()[0])


def test_no_trigger_touches_the_index_and_every_write_keeps_it(store: Store,
                                                               tmp_path: Path) -> None:
    triggers = {row[0] for row in store.db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert not triggers & set(SEARCH_TRIGGERS)
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"imported {i}", "completion": "a"}) + "\n"
                              for i in range(50)), encoding="utf-8")
    assert import_path(store, source).prompts_added == 50
    assert _hits(store, "imported") == 50
    added = store.add_prompt("a fresh question")
    assert store.add_prompt("a fresh question") == added  # stored once, indexed once
    assert _hits(store, "fresh question") == 1
    store.update_prompt(added, text="an edited question")
    assert _hits(store, "fresh question") == 0
    assert _hits(store, "edited question") == 1
    store.delete_prompt(added)
    assert _hits(store, "edited question") == 0


def _vocabulary(store: Store, table: str) -> set[tuple[str, int, int]]:
    store.db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {table}_v USING fts5vocab({table},"
                     " 'row')")
    return set(store.db.execute(f"SELECT term, doc, cnt FROM {table}_v").fetchall())


def test_an_import_indexes_each_new_prompt_once_in_chunks(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An import adds its new prompts to the index a chunk at a time, not batch by batch (see
    summaries.bulk_writes): with chunks and batches that do not divide the rows evenly, the
    index it leaves equals one built afresh, for one-turn and many-turn prompts, repeats and a
    prompt already stored, and edits afterwards keep it so."""
    monkeypatch.setattr(writer, "BATCH", 4)
    monkeypatch.setattr(summaries, "SEARCH_CHUNK", 3)
    store.add_prompt("turn 3 of a talk")  # already stored: not indexed again
    rows = [{"messages": [{"role": "user", "content": f"turn {i} of a talk"},
                          {"role": "assistant", "content": "go on"},
                          {"role": "user", "content": f"turn {i + 2} of a talk"},
                          {"role": "assistant", "content": "done"}]} for i in range(6)]
    rows += [{"messages": [{"role": "user", "content": f"turn {i} of a talk"},
                           {"role": "assistant", "content": "done"}]} for i in range(6)]
    source = tmp_path / "talks.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows * 2), encoding="utf-8")
    assert import_path(store, source).prompts_added == 11
    assert _vocabulary(store, "prompt_search") == _rebuilt(store)
    assert _hits(store, "turn 2 of a talk\ngo on") == 1  # the turns, one per line
    for prompt_id in [row[0] for row in store.db.execute("SELECT id FROM prompts")]:
        store.update_prompt(prompt_id, text=f"edited {prompt_id}")  # removes what it indexed
    assert _hits(store, "turn 7 of a talk") == 0
    assert _vocabulary(store, "prompt_search") == _rebuilt(store)


def _rebuilt(store: Store) -> set[tuple[str, int, int]]:
    """The vocabulary of an index built afresh from the view."""
    store.db.execute("DROP TABLE IF EXISTS rebuilt_v")
    store.db.execute("DROP TABLE IF EXISTS rebuilt")
    store.db.execute("CREATE VIRTUAL TABLE rebuilt USING fts5(body, content='prompt_search_body',"
                     " content_rowid='id', tokenize='trigram')")
    store.db.execute("INSERT INTO rebuilt (rowid, body) SELECT id, body FROM prompt_search_body")
    return _vocabulary(store, "rebuilt")


def test_prompts_written_by_sql_are_indexed_when_a_store_next_opens(store: Store) -> None:
    store.add_prompt("kept by the store")
    store.db.execute("INSERT INTO prompts (hash, messages, text, tags, source, created_at)"
                     " VALUES ('h1', ?, 'written by hand', '[]', 'sql', 'now')",
                     [json.dumps([{"role": "user", "content": "written by hand"}])])
    store.db.conn.commit()
    assert _hits(store, "by hand") == 0
    again = Store.open(store.db.execute("PRAGMA database_list").fetchone()[2])
    try:
        assert _hits(again, "by hand") == 1
        assert _hits(again, "kept by the store") == 1
        assert _vocabulary(again, "prompt_search") == _rebuilt(again)
    finally:
        again.close()
