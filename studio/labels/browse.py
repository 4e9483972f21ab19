"""Paged, filtered and sorted views of prompts for the Data table.

Nothing here loads a whole table: ``count`` and ``page`` take the same :class:`BrowseQuery`
and return one page of light rows (a text excerpt, counts), so 100k+ prompts scroll
smoothly when the table asks for the rows it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.labels.store import Store

SORT_COLUMNS = {
    "id": "p.id", "prompt": "p.text", "source": "p.source", "created": "p.created_at",
    "responses": "responses", "labels": "labels",
}
LABELED = ("any", "labeled", "unlabeled")
EXCERPT = 240

# A label event counts when no later retraction by the same annotator undid it.
_COUNTING = (
    "l.value != 'retracted' AND NOT EXISTS (SELECT 1 FROM labels u WHERE u.target = l.target"
    " AND u.annotator = l.annotator AND u.id > l.id)"
)


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

    def where(self) -> tuple[str, list[Any]]:
        parts, params = ["1"], []
        if self.search.strip():
            parts.append("(p.text LIKE ? ESCAPE '\\' OR p.messages LIKE ? ESCAPE '\\')")
            pattern = "%" + _escape_like(self.search.strip()) + "%"
            params += [pattern, pattern]
        if self.source:
            parts.append("p.source = ?")
            params.append(self.source)
        if self.tag:
            parts.append("EXISTS (SELECT 1 FROM json_each(p.tags) WHERE value = ?)")
            params.append(self.tag)
        label_filter, label_params = self._label_filter()
        if label_filter:
            parts.append(label_filter)
            params += label_params
        return " AND ".join(parts), params

    def _label_filter(self) -> tuple[str, list[Any]]:
        conditions, params = [_COUNTING], []
        if self.kind:
            conditions.append("l.kind = ?")
            params.append(self.kind)
        if self.annotator:
            conditions.append("l.annotator = ?")
            params.append(self.annotator)
        exists = f"EXISTS (SELECT 1 FROM labels l WHERE l.prompt_id = p.id AND" \
                 f" {' AND '.join(conditions)})"
        if self.labeled == "unlabeled":
            return "NOT " + exists, params
        if self.labeled == "labeled" or self.kind or self.annotator:
            return exists, params
        return "", []


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
    where, params = query.where()
    return int(store.db.execute(f"SELECT count(*) FROM prompts p WHERE {where}",
                                params).fetchone()[0])


def page(store: Store, query: BrowseQuery, offset: int, limit: int) -> list[PromptRow]:
    """Rows ``offset`` .. ``offset + limit`` in the query's order."""
    where, params = query.where()
    order = SORT_COLUMNS.get(query.sort, "p.id") + (" DESC" if query.descending else "")
    sql = (
        f"SELECT p.id, substr(p.text, 1, {EXCERPT}) AS excerpt, p.source, p.tags,"
        " json_array_length(p.messages) AS turns,"
        " (SELECT count(*) FROM responses r WHERE r.prompt_id = p.id) AS responses,"
        f" (SELECT count(*) FROM labels l WHERE l.prompt_id = p.id AND {_COUNTING}) AS labels,"
        f" p.created_at FROM prompts p WHERE {where} ORDER BY {order}, p.id LIMIT ? OFFSET ?"
    )
    rows = store.db.execute(sql, [*params, limit, offset]).fetchall()
    return [PromptRow(r[0], " ".join(r[1].split()), r[2] or "", _tags(r[3]), r[4], r[5], r[6],
                      r[7] or "") for r in rows]


def sources_and_tags(store: Store) -> tuple[list[str], list[str]]:
    """The distinct prompt sources and tags, for filter menus."""
    sources = [r[0] for r in store.db.execute(
        "SELECT DISTINCT source FROM prompts WHERE source IS NOT NULL ORDER BY source")]
    tags = [r[0] for r in store.db.execute(
        "SELECT DISTINCT j.value FROM prompts p, json_each(p.tags) j ORDER BY j.value")]
    return sources, tags


def annotators(store: Store) -> list[str]:
    return [r[0] for r in store.db.execute("SELECT DISTINCT annotator FROM labels ORDER BY 1")]


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


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
