"""Paged, filtered, sorted prompt queries for the Data table."""

from __future__ import annotations

from studio.db.browse import BrowseQuery, count, page, prompt_detail, sources_and_tags
from studio.db.store import Store


def _seed(store: Store) -> list[int]:
    ids = [store.add_prompt(f"prompt {i:03d} {'cats' if i % 2 else 'dogs'}",
                            tags=["odd" if i % 2 else "even"], source=f"s{i % 3}")
           for i in range(30)]
    for pid in ids[:10]:
        store.add_response(pid, f"answer to {pid}", origin="model")
    return ids


def test_pages_and_count(store: Store) -> None:
    _seed(store)
    query = BrowseQuery()
    assert count(store, query) == 30
    rows = page(store, query, 10, 5)
    assert [r.id for r in rows] == [11, 12, 13, 14, 15]
    assert rows[0].responses == 0
    assert page(store, query, 0, 1)[0].responses == 1


def test_search_source_tag_filters(store: Store) -> None:
    _seed(store)
    assert count(store, BrowseQuery(search="cats")) == 15
    assert count(store, BrowseQuery(search="100%")) == 0  # LIKE wildcards are escaped
    assert count(store, BrowseQuery(source="s0", tag="even")) == 5
    assert sources_and_tags(store) == (["s0", "s1", "s2"], ["even", "odd"])


def test_label_filters_follow_undo(store: Store) -> None:
    ids = _seed(store)
    rid = store.responses_for(ids[0])[0].id
    label = store.label_thumb(rid, "up", "ana")
    store.label_thumb(store.responses_for(ids[1])[0].id, "down", "bo")
    assert count(store, BrowseQuery(labeled="labeled")) == 2
    assert count(store, BrowseQuery(annotator="ana")) == 1
    assert count(store, BrowseQuery(kind="pair")) == 0
    store.undo(label.id)
    assert count(store, BrowseQuery(labeled="labeled")) == 1
    assert count(store, BrowseQuery(labeled="unlabeled")) == 29


def test_sorting(store: Store) -> None:
    _seed(store)
    rows = page(store, BrowseQuery(sort="responses", descending=True), 0, 3)
    assert all(r.responses == 1 for r in rows)
    assert page(store, BrowseQuery(sort="id", descending=True), 0, 1)[0].id == 30


def test_prompt_detail_lists_labels_per_response(store: Store) -> None:
    pid = store.add_prompt("p")
    a = store.add_response(pid, "a", origin="model")
    b = store.add_response(pid, "b", origin="model")
    store.label_pair(a, b, "right", "ana", reason="clearer")
    prompt, responses, views = prompt_detail(store, pid)
    assert prompt.id == pid
    assert [r.id for r in responses] == [a, b]
    assert views[b][0].value == "preferred"
    assert views[b][0].reason == "clearer"
    assert views[a][0].value == "rejected"
    assert views[a][0].other_id == b
