"""The counts the store keeps as it is written (studio/db/summaries.py, studio/data/
readiness.py) always equal a full recount: after labels, undos, second annotators, judge
labels and their acceptance, deletions, imports, and after upgrading an older store."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlite_utils import Database

from studio.data.derive import derive_from
from studio.data.importing import import_path, writer
from studio.data.readiness import totals
from studio.data.snapshots import readiness
from studio.db import browse, summaries
from studio.db.browse import BrowseQuery
from studio.db.records import Label
from studio.db.schema import migrations
from studio.db.store import Store
from studio.errors import ImportCancelledError

# The definitions the summaries replace, computed the slow way.
_LATEST = ("SELECT *, row_number() OVER (PARTITION BY target, annotator ORDER BY id DESC)"
           " AS rank FROM labels")


def _recount(store: Store) -> dict[str, object]:
    db = store.db
    labels = [Label.from_row(row) for row in db.query(
        f"SELECT * FROM ({_LATEST}) WHERE rank = 1 AND value != 'retracted' AND"
        " (annotator_kind != 'judge' OR accepted = 1) ORDER BY id")]
    derivation = derive_from(labels)
    up = sum(1 for item in derivation.kto if item[2])
    return {
        "label_count": dict(db.execute(
            f"SELECT p.id, (SELECT count(*) FROM ({_LATEST}) l WHERE l.prompt_id = p.id AND"
            " l.rank = 1 AND l.value != 'retracted') FROM prompts p").fetchall()),
        "response_count": dict(db.execute(
            "SELECT p.id, (SELECT count(*) FROM responses r WHERE r.prompt_id = p.id)"
            " FROM prompts p").fetchall()),
        "superseded": dict(db.execute(f"SELECT id, rank > 1 FROM ({_LATEST})").fetchall()),
        "tags": sorted(db.execute("SELECT DISTINCT j.value, p.id FROM prompts p,"
                                  " json_each(p.tags) j").fetchall()),
        "readiness": (len(derivation.sft), len(derivation.dpo), up,
                      len(derivation.kto) - up, derivation.conflicts),
        "duplicates": db.execute(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM prompts GROUP BY"
            " lower(trim(text)), coalesce(system, '') HAVING n > 1)").fetchone()[0],
    }


def _kept(store: Store) -> dict[str, object]:
    db = store.db
    found = totals(store)
    return {
        "label_count": dict(db.execute("SELECT id, label_count FROM prompts").fetchall()),
        "response_count": dict(db.execute("SELECT id, response_count FROM prompts").fetchall()),
        "superseded": dict(db.execute("SELECT id, superseded FROM labels").fetchall()),
        "tags": sorted(db.execute("SELECT tag, prompt_id FROM prompt_tags").fetchall()),
        "readiness": (found.sft, found.dpo, found.kto_up, found.kto_down, found.conflicts),
        "duplicates": found.duplicates,
    }


def _random_work(store: Store, rng: random.Random, steps: int) -> None:
    """Labels of every kind by two people and a judge, undos, redos, acceptance, edits and
    deletions, in a seeded random order."""
    made: list[int] = []
    for step in range(steps):
        roll = rng.random()
        prompts = [row[0] for row in store.db.execute("SELECT id FROM prompts")]
        if roll < 0.12 or len(prompts) < 3:
            text = rng.choice(["What is 2+2?", "what is 2+2?  ", "Name a color.", f"Q{step}"])
            pid = store.add_prompt(text, tags=rng.sample(["a", "b", "c"], rng.randint(0, 2)))
            for n in range(rng.randint(0, 3)):
                store.add_response(pid, f"answer {step}-{n}", origin="model")
            continue
        pid = rng.choice(prompts)
        responses = [r.id for r in store.responses_for(pid)]
        who = rng.choice(["alice", "bob", "judge:m"])
        kind = "judge" if who.startswith("judge") else "human"
        if roll < 0.35 and responses:
            made.append(store.label_thumb(rng.choice(responses), rng.choice(["up", "down"]),
                                          who, annotator_kind=kind).id)
        elif roll < 0.55 and len(responses) > 1:
            left, right = rng.sample(responses, 2)
            made.append(store.label_pair(left, right, rng.choice(["left", "right", "tie"]),
                                         who, annotator_kind=kind).id)
        elif roll < 0.65:
            parent = rng.choice(responses) if responses else None
            made.append(store.label_gold(pid, f"gold {step}", who, parent_id=parent,
                                         annotator_kind=kind).id)
        elif roll < 0.78 and made:
            made.append(store.undo(rng.choice(made)).id)
        elif roll < 0.84 and made:
            made.append(store.redo(rng.choice(made)).id)
        elif roll < 0.9:
            with store.atomic():
                store.db.execute("UPDATE labels SET accepted = 1 WHERE annotator_kind = 'judge'"
                                 " AND prompt_id = ?", [pid])
        elif roll < 0.95:
            store.update_prompt(pid, tags=rng.sample(["a", "b", "d"], rng.randint(0, 2)),
                                text=rng.choice([None, "what is 2+2?" + " " * step,
                                                 f"edited {step}"]))
        else:
            store.delete_prompt(pid)
            made = [i for i in made if store.db.execute(
                "SELECT 1 FROM labels WHERE id = ?", [i]).fetchone()]
        if step % 17 == 0:
            totals(store)  # refresh part-way too: later changes must move the totals on


def test_kept_counts_equal_a_full_recount_after_random_work(store: Store) -> None:
    for seed in range(3):
        _random_work(store, random.Random(seed), 250)
        assert _kept(store) == _recount(store)


def test_an_import_keeps_the_counts(store: Store, tmp_path: Path) -> None:
    _random_work(store, random.Random(7), 80)
    source = tmp_path / "pairs.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"Name a color. {i % 30}", "chosen": "red",
                                          "rejected": f"blue {i}"}) + "\n"
                              for i in range(300)))
    import_path(store, source)
    assert _kept(store) == _recount(store)


def _indexes(store: Store) -> list[tuple[str, str]]:
    return store.db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                            " ORDER BY name").fetchall()


@pytest.mark.parametrize("deferred", [False, True], ids=["row by row", "indexes deferred"])
def test_imports_of_every_shape_keep_the_counts_across_batches(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, deferred: bool) -> None:
    """The importer writes new prompts with their counts already set and recounts only older
    ones: repeats inside a batch, across batches and of prompts already stored, a thumb
    flipped later in the file, gold answers and prompt-only rows all end with the counts a
    full recount gives. The same with the secondary indexes dropped for the import and built
    again at its end: they come back as they were, and a cancelled import leaves them."""
    monkeypatch.setattr(writer, "BATCH", 7)  # many batches, repeats landing on both sides
    monkeypatch.setattr(writer, "DEFER_INDEXES_FROM", 1 if deferred else 10**9)
    dropped: list[int] = []
    deferrable = summaries._deferrable
    monkeypatch.setattr(summaries, "_deferrable",
                        lambda db: (found := deferrable(db), dropped.append(len(found)))[0])
    indexes = _indexes(store)
    _random_work(store, random.Random(3), 60)
    rows = {
        # Odd rows repeat nine prompts; even rows name a prompt twice, close together.
        "pairs.jsonl": [{"prompt": f"Name a color. {i % 9}" if i % 2 else f"Once {i // 4}",
                         "chosen": f"red {i % 4}", "rejected": f"blue {i % 3}"}
                        for i in range(60)],
        "thumbs.jsonl": [{"prompt": f"Q{i % 11}" if i % 2 else f"Thumb {i // 4}",
                          "completion": f"a {i % 5}", "label": i % 3 == 0} for i in range(70)],
        "gold.jsonl": [{"prompt": f"Q{i % 13}" if i % 2 else f"Gold {i // 4}",
                        "completion": f"gold {i % 2}"} for i in range(40)],
        "prompts.jsonl": [{"prompt": f"Name a color. {i % 20}"} for i in range(30)],
    }
    for name, items in rows.items():
        source = tmp_path / name
        source.write_text("".join(json.dumps(item) + "\n" for item in items))
        import_path(store, source)
        assert _kept(store) == _recount(store), name
        assert _indexes(store) == indexes, name
    with pytest.raises(ImportCancelledError):
        import_path(store, source, should_cancel=iter([False, True]).__next__)
    assert _indexes(store) == indexes
    assert _kept(store) == _recount(store)
    assert (min(dropped, default=0) >= 15) if deferred else not dropped


def test_an_older_store_is_upgraded_with_the_right_counts(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="m009_summaries")
    old = Store.__new__(Store)
    old.db = db
    # Written the way the app did before m009: plain inserts, no summaries to keep.
    for i in range(40):
        db.execute("INSERT INTO prompts (hash, messages, text, tags, source, created_at)"
                   " VALUES (?, ?, ?, ?, 'x', 'now')",
                   [f"h{i}", "[]", f"Q {i % 25}", json.dumps(["t"] if i % 3 else [])])
        db.execute("INSERT INTO responses (prompt_id, hash, text, origin, created_at)"
                   " VALUES (?, ?, 'a', 'model', 'now')", [i + 1, f"r{i}"])
        db.execute("INSERT INTO responses (prompt_id, hash, text, origin, created_at)"
                   " VALUES (?, ?, 'b', 'model', 'now')", [i + 1, f"s{i}"])
    for i in range(60):
        response = 1 + (i % 80)
        db.execute("INSERT INTO labels (kind, target, prompt_id, response_id, value, annotator,"
                   " annotator_kind, created_at) VALUES ('thumb', ?, ?, ?, ?, 'me', 'human',"
                   " 'now')", [f"thumb:{response}", (response + 1) // 2, response,
                               ["up", "down", "retracted"][i % 3]])
    db.conn.commit()
    db.close()
    store = Store.open(tmp_path / "old.db")
    assert not migrations.pending(store.db)
    assert _kept(store) == _recount(store)
    store.close()


def test_browse_filters_and_sorts_use_the_kept_counts(store: Store) -> None:
    _random_work(store, random.Random(3), 200)
    counts = _recount(store)["label_count"]
    assert isinstance(counts, dict)
    labeled = {pid for pid, n in counts.items() if n}
    every = browse.count(store, BrowseQuery())
    assert browse.count(store, BrowseQuery(labeled="labeled")) == len(labeled)
    assert browse.count(store, BrowseQuery(labeled="unlabeled")) == every - len(labeled)
    rows = browse.page(store, BrowseQuery(sort="labels", descending=True), 0, every)
    assert [row.labels for row in rows] == sorted(counts.values(), reverse=True)
    assert [row.id for row in browse.page(store, BrowseQuery(sort="labels"), 0, 5)] == \
        [row.id for row in sorted(rows, key=lambda r: (r.labels, r.id))][:5]
    assert browse.page(store, BrowseQuery(), 0, every)[0].id == min(counts)


def test_readiness_after_one_label_derives_only_that_prompt(store: Store) -> None:
    _random_work(store, random.Random(5), 120)
    readiness(store)
    response = store.add_response(store.add_prompt("one more"), "an answer", origin="model")
    store.label_thumb(response, "up", "alice")
    stale = store.db.execute("SELECT prompt_id FROM readiness_dirty").fetchall()
    assert stale == [(store.response(response).prompt_id,)]
    before = readiness(store)
    assert store.db.execute("SELECT count(*) FROM readiness_dirty").fetchone()[0] == 0
    assert _kept(store)["readiness"] == _recount(store)["readiness"]
    assert before.sft == _recount(store)["readiness"][0]  # type: ignore[index]


def test_readiness_never_waits_for_another_writer(store: Store, data_paths: object) -> None:
    """While another connection holds the write lock (an import), readiness is derived in
    memory from the stale prompts on top of the stored sums: the same answer, no wait."""
    _random_work(store, random.Random(11), 150)
    expected = _recount(store)["readiness"]
    other = Store.open(store.db.execute("PRAGMA database_list").fetchone()[2])
    try:
        with other.atomic():
            other.db.execute("INSERT INTO imports (path, rows) VALUES ('held', 0)")
            stale = store.db.execute("SELECT count(*) FROM readiness_dirty").fetchone()[0]
            found = totals(store)
            assert (found.sft, found.dpo, found.kto_up, found.kto_down,
                    found.conflicts) == expected
            assert store.db.execute("SELECT count(*) FROM readiness_dirty").fetchone()[0] \
                == stale > 0  # nothing was written: the lock was not free
    finally:
        other.close()
    totals(store)
    assert store.db.execute("SELECT count(*) FROM readiness_dirty").fetchone()[0] == 0


def test_counts_read_from_one_index_match_the_full_query(store: Store) -> None:
    _random_work(store, random.Random(9), 200)
    for query in (BrowseQuery(tag="a"), BrowseQuery(tag="zzz"), BrowseQuery(kind="pair"),
                  BrowseQuery(annotator="bob", labeled="unlabeled"),
                  BrowseQuery(kind="thumb", annotator="alice"), BrowseQuery(tag="b", kind="gold")):
        assert query.count_shortcut() is not None or (query.tag and query.kind)
        where, params = query.where()
        full = store.db.execute(f"SELECT count(*) FROM prompts p WHERE {where}", params)
        assert browse.count(store, query) == full.fetchone()[0], query
