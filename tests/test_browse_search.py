"""The Data page's search on the trigram index (m011): substring matches like LIKE's, kept
in step with every write, filled for a store that existed before it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.app.overview import queue_overview
from studio.data.importing.importer import import_path
from studio.db import search
from studio.db.browse import BrowseQuery, count, page
from studio.db.schema import migrations
from studio.db.sqlite_db import Database
from studio.db.store import Store
from studio.labels.queue import LabelQueue


def _like_ids(store: Store, term: str) -> list[int]:
    """What the search did before the index: a LIKE over each turn's text."""
    found = []
    for pid, messages in store.db.execute("SELECT id, messages FROM prompts ORDER BY id"):
        if any(term.lower() in turn["content"].lower() for turn in json.loads(messages)):
            found.append(pid)
    return found


def _search(store: Store, term: str, **filters: object) -> tuple[int, list[int]]:
    query = BrowseQuery(search=term, **filters)  # type: ignore[arg-type]
    return count(store, query), [row.id for row in page(store, query, 0, 1000)]


def test_search_matches_substrings_in_any_turn(store: Store) -> None:
    store.add_prompt("What is the Capital of France?")
    store.add_prompt("capitalize every word, please")
    store.add_prompt([{"role": "user", "content": "earlier turn mentions Paris"},
                      {"role": "assistant", "content": "ok"},
                      {"role": "user", "content": "and now?"}])
    store.add_prompt("100% sure_thing \"quoted\"")
    for term in ("capital", "APITA", "of Fr", "paris", "100%", "sure_th", '"quoted"', "ok",
                 "zzz"):
        total, ids = _search(store, term)
        assert ids == _like_ids(store, term), term
        assert total == len(ids), term
    # JSON keys are not text: "role" and "content" match no prompt.
    assert _search(store, "role") == (0, [])


def test_short_terms_fall_back_to_like(store: Store) -> None:
    store.add_prompt("a b")
    store.add_prompt("xy")
    assert _search(store, "xy") == (1, [2])
    assert _search(store, " b ") == (1, [1])  # stripped, like the longer terms


def test_short_terms_search_the_turns_not_the_json(store: Store) -> None:
    """One- and two-character terms read the same text as the index: every turn of a
    conversation, and never the JSON's keys ("co" of "content", "ro" of "role"), through the
    multi-turn partial index so one-turn prompts cost only their text."""
    store.add_prompt("plain words")
    store.add_prompt([{"role": "user", "content": "an earlier qz turn"},
                      {"role": "assistant", "content": "ok"},
                      {"role": "user", "content": "and now?"}])
    store.add_prompt("a cold day")
    store.add_prompt("50% off_now")
    for term in ("co", "ro", "us", "qz", "ok", "w", "?", "zz", "%", "_", "f_", "\\"):
        total, ids = _search(store, term)
        assert ids == _like_ids(store, term), term
        assert total == len(ids), term
    assert _search(store, "co") == (1, [3])  # "content" is a key, not text
    where, params = BrowseQuery(search="qz").where()
    plan = " ".join(row[3] for row in store.db.execute(
        f"EXPLAIN QUERY PLAN SELECT count(*) FROM prompts p WHERE {where}", params))
    assert "prompts_multi_turn" in plan


def test_index_follows_edits_deletes_and_imports(store: Store, tmp_path: Path) -> None:
    first = store.add_prompt("original wording here")
    store.add_prompt("something else entirely")
    store.update_prompt(first, text="reworded completely")
    assert _search(store, "original") == (0, [])
    assert _search(store, "reworded") == (1, [first])
    store.delete_prompt(first)
    assert _search(store, "reworded") == (0, [])
    source = tmp_path / "pairs.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"imported question {i}", "chosen": "yes",
                                          "rejected": "no"}) + "\n" for i in range(30)))
    import_path(store, source)
    total, ids = _search(store, "question 2")
    assert ids == _like_ids(store, "question 2")
    assert total == 11
    # One indexed document per prompt: the deleted one left, the imported ones came in.
    indexed = store.db.execute("SELECT id FROM prompt_search_docsize ORDER BY id").fetchall()
    assert indexed == store.db.execute("SELECT id FROM prompts ORDER BY id").fetchall()


def test_search_combines_with_filters_and_paging(store: Store) -> None:
    for i in range(40):
        store.add_prompt(f"item {i} {'apple' if i % 2 else 'pear'}", source=f"s{i % 4}")
    total, ids = _search(store, "apple", source="s1")
    assert total == len(ids) == 10
    assert all(i % 4 == 2 for i in ids)
    query = BrowseQuery(search="apple", sort="id", descending=True)
    assert [r.id for r in page(store, query, 5, 5)] == [30, 28, 26, 24, 22]
    assert count(store, BrowseQuery(search="apple", labeled="unlabeled")) == 20


def test_an_older_store_gets_its_prompts_indexed(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="m011_prompt_search")
    # Written the way the app did before m011: plain inserts, no index to keep.
    for number, turns in enumerate(([{"role": "user", "content": "written before the index"}],
                                    [{"role": "user", "content": "two turns"},
                                     {"role": "assistant", "content": "fine"},
                                     {"role": "user", "content": "last one"}])):
        db.execute("INSERT INTO prompts (hash, messages, text, tags, source, created_at)"
                   " VALUES (?, ?, ?, '[]', 'x', 'now')",
                   [f"h{number}", json.dumps(turns), turns[-1]["content"]])
    db.conn.commit()
    db.close()
    store = Store.open(tmp_path / "old.db")
    assert not migrations.pending(store.db)
    assert _search(store, "before the") == (1, [1])
    assert _search(store, "two tu") == (1, [2])
    store.close()


def test_queue_overview_counts_on_the_store_it_is_given(store: Store, data_paths) -> None:
    for i in range(5):
        store.add_response(store.add_prompt(f"p {i}"), f"answer {i}", origin="model")
    queue = LabelQueue(store, "ana", mode="thumb")
    store.label_thumb(1, "up", "ana")
    reader = Store.open(data_paths.db)  # the reader's own connection, as Ops.read runs it
    try:
        overview = queue_overview(reader, queue, "ana", "1970-01-01T00:00:00")
    finally:
        reader.close()
    assert overview.remaining == queue.remaining() == 4
    assert (overview.prompts, overview.responses) == (5, 5)


def test_a_term_in_many_prompts_pages_the_same_by_walking(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(60):
        store.add_prompt(f"row {i} {'Common word' if i % 3 else 'rare'}", source=f"s{i % 2}")
    store.add_prompt([{"role": "user", "content": "common in an earlier turn"},
                      {"role": "assistant", "content": "yes"},
                      {"role": "user", "content": "then this"}])
    queries = [BrowseQuery(search="COMMON", sort=sort, descending=down)
               for sort in ("id", "prompt", "source") for down in (False, True)]
    listed = [[r.id for r in page(store, q, 3, 20)] for q in queries]
    assert "json_each" in search.page_condition(store.db, "common")[0]  # below DENSE_MIN
    monkeypatch.setattr(search, "DENSE_MIN", 5)
    assert "LIKE" in search.page_condition(store.db, "common")[0]  # walks the order
    assert "json_each" in search.page_condition(store.db, "zzz")[0]
    assert [[r.id for r in page(store, q, 3, 20)] for q in queries] == listed
    assert count(store, BrowseQuery(search="common")) == 41
