"""Paged, filtered and sorted views of prompts for the Data table.

Nothing here loads a whole table: ``count`` and ``page`` take the same :class:`BrowseQuery`
and return one page of light rows (a text excerpt, counts), so 100k+ prompts scroll
smoothly when the table asks for the rows it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.db import search
from studio.db.store import Store

# Each sort key has an index (m009, studio/db/summaries.py), so a page in any order reads
# only its own rows; the prompt column sorts by its first 64 characters, as far as its index
# reaches (ties beyond that go by id).
SORT_COLUMNS = {
    "id": "p.id", "prompt": "substr(p.text, 1, 64)", "source": "p.source",
    "created": "p.created_at", "responses": "p.response_count", "labels": "p.label_count",
}
LABELED = ("any", "labeled", "unlabeled")
EXCERPT = 240

# A label event counts when it is its annotator's latest on the target and not an undo
# (``superseded`` is kept by a trigger; partial indexes cover exactly these rows).
_COUNTING = "l.superseded = 0 AND l.value != 'retracted'"


@dataclass(frozen=True)
class BrowseQuery:
    search: str = ""
    source: str | None = None
    tag: str | None = None
    labeled: str = "any"  # any | labeled | unlabeled
    kind: str | None = None  # thumb | pair | gold: prompts with a label of that kind
    annotator: str | None = None  # prompts labeled by this annotator
    sort: str = "id"
    descending: bool = False

    def where(self, found: tuple[str, list[Any]] | None = None) -> tuple[str, list[Any]]:
        """The filter as SQL on ``prompts p``; ``found``: the search term's condition when
        the caller chose it (a page: studio.db.search.page_condition)."""
        parts, params = ["1"], []
        if self.search.strip():
            condition, condition_params = found or search.condition(self.search)
            parts.append(condition)
            params += condition_params
        if self.source:
            parts.append("p.source = ?")
            params.append(self.source)
        if self.tag:
            parts.append("p.id IN (SELECT prompt_id FROM prompt_tags WHERE tag = ?)")
            params.append(self.tag)
        label_filter, label_params = self._label_filter()
        if label_filter:
            parts.append(label_filter)
            params += label_params
        return " AND ".join(parts), params

    def _label_filter(self) -> tuple[str, list[Any]]:
        if not (self.kind or self.annotator):
            # label_count is the number of counting labels, kept by a trigger and indexed.
            return {"labeled": ("p.label_count > 0", []),
                    "unlabeled": ("p.label_count = 0", [])}.get(self.labeled, ("", []))
        conditions, params = [_COUNTING], []
        if self.kind:
            conditions.append("l.kind = ?")
            params.append(self.kind)
        if self.annotator:
            conditions.append("l.annotator = ?")
            params.append(self.annotator)
        # EXISTS: a page walks prompts in its order and stops at a full page.
        matching = f"EXISTS (SELECT 1 FROM labels l WHERE l.prompt_id = p.id AND" \
                   f" {' AND '.join(conditions)})"
        if self.labeled == "unlabeled":
            return "NOT " + matching, params
        return matching, params

    def count_shortcut(self) -> tuple[str, list[Any]] | None:
        """With only a tag, or only a label kind/annotator filter: a count of matching prompts
        read from that table's index alone, instead of a lookup of every matching prompt.
        With only a search term the trigram index counts its own matches (a term too short
        for it: :func:`search.short_count`)."""
        if self.search.strip() and not (self.source or self.tag or self.kind or self.annotator
                                        or self.labeled != "any"):
            if len(self.search.strip()) >= search.MIN_TRIGRAM:
                return ("SELECT count(*) FROM prompt_search WHERE prompt_search MATCH ?",
                        [search.match_phrase(self.search.strip())])
            return search.short_count(self.search)
        if self.search.strip() or self.source:
            return None
        if self.tag and not (self.kind or self.annotator) and self.labeled == "any":
            return "SELECT count(*) FROM prompt_tags WHERE tag = ?", [self.tag]
        if self.tag or not (self.kind or self.annotator):
            return None
        conditions, params = [_COUNTING], []
        for column, value in (("kind", self.kind), ("annotator", self.annotator)):
            if value:
                conditions.append(f"l.{column} = ?")
                params.append(value)
        return (f"SELECT count(DISTINCT l.prompt_id) FROM labels l WHERE"
                f" {' AND '.join(conditions)}"), params


@dataclass(frozen=True)
class PromptRow:
    id: int
    excerpt: str
    source: str
    tags: str
    turns: int
    responses: int
    labels: int
    created_at: str


def count(store: Store, query: BrowseQuery) -> int:
    shortcut = query.count_shortcut()
    if shortcut is not None:
        matching = int(store.db.execute(*shortcut).fetchone()[0])
        if query.labeled != "unlabeled":
            return matching
        return count(store, BrowseQuery()) - matching  # unlabeled: every prompt but those
    where, params = query.where()
    return int(store.db.execute(f"SELECT count(*) FROM prompts p WHERE {where}",
                                params).fetchone()[0])


def page(store: Store, query: BrowseQuery, offset: int, limit: int) -> list[PromptRow]:
    """Rows ``offset`` .. ``offset + limit`` in the query's order.

    The ids come first (an index walk in the query's order), then the rows of just those ids:
    a sort never computes the display columns of rows it does not show."""
    where, params = query.where(search.page_condition(store.db, query.search)
                                if query.search.strip() else None)
    # Ties go by id in the same direction, so one index serves both directions.
    direction = " DESC" if query.descending else ""
    order = f"{SORT_COLUMNS.get(query.sort, 'p.id')}{direction}, p.id{direction}"
    ids = [row[0] for row in store.db.execute(
        f"SELECT p.id FROM prompts p WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, limit, offset])]
    found: dict[int, Any] = {}
    for start in range(0, len(ids), 500):  # SQLite's limit on bound variables
        chunk = ids[start:start + 500]
        found.update((r[0], r) for r in store.db.execute(
            f"SELECT p.id, substr(p.text, 1, {EXCERPT}) AS excerpt, p.source, p.tags,"
            " json_array_length(p.messages) AS turns, p.response_count, p.label_count,"
            f" p.created_at FROM prompts p WHERE p.id IN ({','.join('?' * len(chunk))})",
            chunk))
    rows = [found[i] for i in ids if i in found]
    return [PromptRow(r[0], " ".join(r[1].split()), r[2] or "", _tags(r[3]), r[4], r[5], r[6],
                      r[7] or "") for r in rows]


def sources_and_tags(store: Store) -> tuple[list[str], list[str]]:
    """The distinct prompt sources and tags, for filter menus (a skip along each index)."""
    return (_distinct(store, "prompts", "source"),
            _distinct(store, "prompt_tags", "tag"))


def _distinct(store: Store, table: str, column: str) -> list[str]:
    """``SELECT DISTINCT column``, jumping from one value to the next along the column's index
    (a few probes per value) instead of reading every row."""
    sql = (
        f"WITH RECURSIVE seen(v) AS (SELECT min({column}) FROM {table} UNION ALL"
        f" SELECT (SELECT min({column}) FROM {table} WHERE {column} > v) FROM seen"
        " WHERE v IS NOT NULL) SELECT v FROM seen WHERE v IS NOT NULL"
    )
    return [row[0] for row in store.db.execute(sql)]


def annotators(store: Store) -> list[str]:
    return _distinct(store, "labels", "annotator")


@dataclass(frozen=True)
class LabelView:
    annotator: str
    kind: str
    value: str
    reason: str | None
    other_id: int | None  # pair: the response it was compared with


def prompt_detail(store: Store, prompt_id: int) -> tuple[Any, list[Any], dict[int, list[Any]]]:
    """A prompt, its responses and the labels that count on each response."""
    prompt = store.prompt(prompt_id)
    responses = store.responses_for(prompt_id)
    views: dict[int, list[LabelView]] = {r.id: [] for r in responses}
    for label in store.current_labels(prompt_ids=[prompt_id], include_unaccepted_judge=True):
        if label.kind == "pair" and label.left_id and label.right_id:
            verdicts = _pair_verdicts(label.value, label.left_id, label.right_id)
            for response_id, (value, other) in verdicts.items():
                views.setdefault(response_id, []).append(
                    LabelView(label.annotator, "pair", value, label.reason, other))
        elif label.response_id is not None:
            views.setdefault(label.response_id, []).append(
                LabelView(label.annotator, label.kind, label.value, label.reason, None))
    return prompt, responses, views


def _pair_verdicts(value: str, left: int, right: int) -> dict[int, tuple[str, int]]:
    if value == "left":
        return {left: ("preferred", right), right: ("rejected", left)}
    if value == "right":
        return {right: ("preferred", left), left: ("rejected", right)}
    return {left: (value, right), right: (value, left)}


def _tags(raw: str | None) -> str:
    import json

    return ", ".join(json.loads(raw or "[]"))
