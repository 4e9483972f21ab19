"""The labeling queue: which item to show next in each mode.

Unlabeled items come first, in id order, from a cursor (so each step costs one short
indexed query however many rows there are). Items skipped in this session come back only
when nothing else is left. A "re-label sample" mixes in a share of items this annotator
labeled before, shown blind, to measure self-agreement.

An item counts as labeled when this annotator's latest event on it is not a retraction, or
when an imported dataset already labeled it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from studio.db.records import Label, Prompt, Response, pair_target
from studio.db.store import Store

MODES = ("thumb", "pair", "edit")
BATCH = 16
IMPORT_ANNOTATOR = "import"
_PROBABILITY = re.compile(r"=\s*([01](?:\.\d+)?)")  # the judge's "p(yes)=0.83" reason


PAIRINGS = ("all", "adjacent")


@dataclass(frozen=True)
class QueueFilter:
    """Which items the queue offers: by prompt source and tag, by the model that wrote the
    responses, and (pairwise) all pairs of a prompt's responses or only adjacent ones."""

    source: str | None = None
    tag: str | None = None
    model: str | None = None  # responses.model: e.g. one generation run's candidates
    pairing: str = "all"  # all | adjacent: consecutive response ids per prompt (N-1 pairs)

    def __post_init__(self) -> None:
        if self.pairing not in PAIRINGS:
            raise ValueError(f"pairing is one of {PAIRINGS}, not {self.pairing!r}")

    def sql(self, prompt: str = "p", mode: str = "edit") -> tuple[str, list[object]]:
        """SQL conditions (with a leading AND) for ``mode``'s candidate query."""
        parts: list[str] = []
        params: list[object] = []
        if self.source:
            parts.append(f"{prompt}.source = ?")
            params.append(self.source)
        if self.tag:
            parts.append(f"EXISTS (SELECT 1 FROM json_each({prompt}.tags) WHERE value = ?)")
            params.append(self.tag)
        if self.model:
            if mode == "thumb":
                parts.append("r.model = ?")
                params.append(self.model)
            elif mode == "pair":
                parts.append("a.model = ? AND b.model = ?")
                params += [self.model, self.model]
            else:
                parts.append(f"EXISTS (SELECT 1 FROM responses m WHERE m.prompt_id = {prompt}.id"
                             " AND m.model = ?)")
                params.append(self.model)
        if mode == "pair" and self.pairing == "adjacent":
            # No response of the same prompt (and model, when filtered) lies between the two.
            same_model = " AND c.model = ?" if self.model else ""
            parts.append("NOT EXISTS (SELECT 1 FROM responses c WHERE c.prompt_id = a.prompt_id"
                         f" AND c.id > a.id AND c.id < b.id{same_model})")
            params += [self.model] if self.model else []
        return (" AND " + " AND ".join(parts) if parts else ""), params


@dataclass(frozen=True)
class Suggestion:
    """A judge model's label on an item, oriented as shown: never counts as the person's."""

    annotator: str
    value: str  # thumb: up | down; pair: left | right | tie | both_bad (sides on screen)
    probability: float | None  # thumb: P(good); pair: P(left side is better)

    @property
    def judge(self) -> str:
        return self.annotator.removeprefix("judge:")


@dataclass(frozen=True)
class QueueItem:
    """One thing to judge. For pairs, ``responses`` is (left, right) as shown."""

    mode: str
    prompt: Prompt
    responses: tuple[Response, ...] = ()
    relabel: bool = False
    suggestion: Suggestion | None = None  # the judge's pre-label (none on blind re-labels)

    @property
    def target(self) -> str:
        if self.mode == "thumb":
            return f"thumb:{self.responses[0].id}"
        if self.mode == "pair":
            return pair_target(self.responses[0].id, self.responses[1].id)
        return f"edit:{self.prompt.id}"

    @property
    def key(self) -> tuple[int, ...]:
        """The cursor position of the item."""
        if self.mode == "thumb":
            return (self.responses[0].id,)
        if self.mode == "pair":
            return tuple(sorted(r.id for r in self.responses))
        return (self.prompt.id,)


def _open(target_sql: str) -> str:
    """SQL true when the target (an SQL expression) has no label that counts for :me."""
    return (
        f"coalesce((SELECT value FROM labels l WHERE l.target = {target_sql} AND"
        f" l.annotator = :me ORDER BY l.id DESC LIMIT 1), 'retracted') = 'retracted'"
        f" AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.target = {target_sql} AND"
        f" l.annotator = '{IMPORT_ANNOTATOR}' AND l.value != 'retracted')"
    )


# A prompt has a gold answer by :me when some gold event of theirs was not undone later.
_NO_GOLD = (
    "NOT EXISTS (SELECT 1 FROM labels g WHERE g.prompt_id = p.id AND g.kind = 'gold'"
    " AND g.annotator IN (:me, 'import') AND g.value = 'gold' AND NOT EXISTS"
    " (SELECT 1 FROM labels u WHERE u.target = g.target AND u.annotator = g.annotator"
    " AND u.id > g.id AND u.value = 'retracted'))"
)

_CANDIDATES = {
    "thumb": (
        "SELECT r.id FROM responses r JOIN prompts p ON p.id = r.prompt_id"
        " WHERE r.id > :c0 {filters} AND " + _open("'thumb:' || r.id")
        + " ORDER BY r.id LIMIT :n"
    ),
    "pair": (
        "SELECT a.id, b.id FROM responses a JOIN responses b ON b.prompt_id = a.prompt_id"
        " AND b.id > a.id JOIN prompts p ON p.id = a.prompt_id"
        " WHERE (a.id > :c0 OR (a.id = :c0 AND b.id > :c1)) {filters}"
        " AND coalesce(b.parent_id, 0) != a.id AND coalesce(a.parent_id, 0) != b.id AND "
        + _open("'pair:' || a.id || ':' || b.id") + " ORDER BY a.id, b.id LIMIT :n"
    ),
    "edit": (
        "SELECT p.id FROM prompts p WHERE p.id > :c0 {filters} AND " + _NO_GOLD
        + " ORDER BY p.id LIMIT :n"
    ),
}


@dataclass
class LabelQueue:
    """The next item to label for one annotator, mode and filter."""

    store: Store
    annotator: str
    mode: str = "thumb"
    filter: QueueFilter = field(default_factory=QueueFilter)
    relabel_share: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    cursor: tuple[int, ...] = (0, 0)
    skipped: set[tuple[int, ...]] = field(default_factory=set)
    handed_out: set[tuple[int, ...]] = field(default_factory=set)  # not to be shown twice
    labeled_here: set[str] = field(default_factory=set)  # targets labeled this session

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown labeling mode {self.mode!r}; use one of {MODES}")

    def next(self) -> QueueItem | None:
        """The next item, or None when everything (but skipped items) is labeled."""
        if self.relabel_share > 0 and self.rng.random() < self.relabel_share:
            item = self._relabel_item()
            if item is not None:
                return item
        key = self._next_key()
        if key is None:
            return None
        self.cursor = (*key, 0)[:2]
        self.handed_out.add(key)
        return self.item(key)

    def skip(self, item: QueueItem) -> None:
        if not item.relabel:
            self.skipped.add(item.key)

    def revisit_skipped(self) -> None:
        """Show the skipped items again (the person asked for them)."""
        self.handed_out -= self.skipped
        self.skipped.clear()
        self.cursor = (0, 0)

    def item(self, key: tuple[int, ...], relabel: bool = False) -> QueueItem:
        """Load the item at a cursor key (pair sides are shuffled here)."""
        if self.mode == "thumb":
            response = self.store.response(key[0])
            hint = None if relabel else judge_suggestion(self.store, f"thumb:{response.id}")
            return QueueItem("thumb", self.store.prompt(response.prompt_id), (response,),
                             relabel, hint)
        if self.mode == "pair":
            left, right = (self.store.response(i) for i in key)
            if self.rng.random() < 0.5:
                left, right = right, left
            hint = None if relabel else judge_suggestion(
                self.store, pair_target(left.id, right.id), left.id)
            return QueueItem("pair", self.store.prompt(left.prompt_id), (left, right), relabel,
                             hint)
        prompt = self.store.prompt(key[0])
        return QueueItem("edit", prompt, _edit_start(self.store, prompt.id), relabel)

    def remaining(self, store: Store | None = None) -> int:
        """How many items are still unlabeled: a full count, seconds at a million responses.

        Pass the reader's store (``Ops.read``) to count there: a read on its own connection
        never holds the writer's thread, so a label commit never waits behind the count."""
        sql = _CANDIDATES[self.mode].rsplit(" ORDER BY", 1)[0]
        sql = "SELECT count(*) FROM (" + sql.replace(":c0", "0").replace(":c1", "0") + ")"
        filters, params = self.filter.sql(mode=self.mode)
        named = {"me": self.annotator, **{f"f{i}": v for i, v in enumerate(params)}}
        db = (store or self.store).db
        return int(db.execute(_named(sql.format(filters=filters)), named).fetchone()[0])

    # ---- internals ---------------------------------------------------------------------
    def _next_key(self) -> tuple[int, ...] | None:
        key = self._first_unskipped((*self.cursor, 0)[:2])
        if key is None and self.cursor != (0, 0):
            # Wrap around: a new response to an old prompt opens pairs behind the cursor.
            key = self._first_unskipped((0, 0))
        return key

    def _first_unskipped(self, position: tuple[int, ...]) -> tuple[int, ...] | None:
        while batch := self._query(position, BATCH):
            for key in batch:
                if key not in self.handed_out:
                    return key
            position = (*batch[-1], 0)[:2]
        return None

    def _query(self, cursor: tuple[int, ...], limit: int) -> list[tuple[int, ...]]:
        filters, params = self.filter.sql(mode=self.mode)
        named = {"me": self.annotator, "c0": cursor[0], "c1": cursor[1], "n": limit,
                 **{f"f{i}": v for i, v in enumerate(params)}}
        sql = _named(_CANDIDATES[self.mode].format(filters=filters))
        return [tuple(row) for row in self.store.db.execute(sql, named)]

    def _relabel_item(self) -> QueueItem | None:
        """A random item this annotator labeled before this session, shown blind."""
        kind = {"thumb": "thumb", "pair": "pair", "edit": None}[self.mode]
        if kind is None:
            return None  # re-writing gold answers is not a repeatable judgement
        bounds = self.store.db.execute(
            "SELECT min(id), max(id) FROM labels WHERE annotator = ? AND kind = ?",
            [self.annotator, kind]).fetchone()
        if bounds[0] is None:
            return None
        for _ in range(4):
            label = self._label_near(self.rng.randint(bounds[0], bounds[1]), kind)
            if label is not None and label.target not in self.labeled_here \
                    and self._current_value(label.target) not in (None, "retracted") \
                    and self._matches_filter(label):
                key = (label.response_id or 0,) if kind == "thumb" else \
                    tuple(sorted((label.left_id or 0, label.right_id or 0)))
                return self.item(key, relabel=True)
        return None

    def _label_near(self, label_id: int, kind: str) -> Label | None:
        row = self.store.db.execute(
            "SELECT id FROM labels WHERE id >= ? AND annotator = ? AND kind = ? ORDER BY id"
            " LIMIT 1", [label_id, self.annotator, kind]).fetchone()
        return self.store.label(int(row[0])) if row else None

    def _current_value(self, target: str) -> str | None:
        row = self.store.db.execute(
            "SELECT value FROM labels WHERE target = ? AND annotator = ? ORDER BY id DESC"
            " LIMIT 1", [target, self.annotator]).fetchone()
        return row[0] if row else None

    def _matches_filter(self, label: Label) -> bool:
        """Whether a label's item is one the filter lets through (for re-label samples)."""
        filters, params = self.filter.sql(mode=self.mode)
        if not filters:
            return True
        if self.mode == "thumb":
            sql = ("SELECT 1 FROM responses r JOIN prompts p ON p.id = r.prompt_id"
                   f" WHERE r.id = ?{filters}")
            ids: list[object] = [label.response_id]
        else:
            sql = ("SELECT 1 FROM responses a JOIN responses b JOIN prompts p ON p.id ="
                   f" a.prompt_id WHERE a.id = ? AND b.id = ?{filters}")
            ids = [min(label.left_id or 0, label.right_id or 0),
                   max(label.left_id or 0, label.right_id or 0)]
        return self.store.db.execute(sql, [*ids, *params]).fetchone() is not None


def judge_suggestion(store: Store, target: str, shown_left: int | None = None
                     ) -> Suggestion | None:
    """The latest judge label on a target, with pair sides turned to match the screen."""
    row = store.db.execute(
        "SELECT annotator, value, reason, left_id FROM labels WHERE target = ? AND"
        " annotator_kind = 'judge' ORDER BY id DESC LIMIT 1", [target]).fetchone()
    if row is None or row[1] == "retracted":
        return None
    annotator, value, reason, left_id = row
    match = _PROBABILITY.search(reason or "")
    probability = float(match.group(1)) if match else None
    if shown_left is not None and left_id != shown_left:  # the screen shows them swapped
        value = {"left": "right", "right": "left"}.get(value, value)
        probability = None if probability is None else round(1 - probability, 4)
    return Suggestion(annotator, value, probability)


def filter_prompt_ids(store: Store, queue_filter: QueueFilter) -> list[int]:
    """The prompts a filter lets through (with a model: those it answered), in id order."""
    filters, params = queue_filter.sql(mode="edit")
    sql = f"SELECT p.id FROM prompts p WHERE 1{filters} ORDER BY p.id"
    return [int(r[0]) for r in store.db.execute(sql, params)]


def response_models(store: Store) -> list[str]:
    """The models that wrote responses, for the queue's model filter."""
    return [r[0] for r in store.db.execute(
        "SELECT DISTINCT model FROM responses WHERE model IS NOT NULL ORDER BY model")]


def _named(sql: str) -> str:
    """Turn the filter's positional ``?`` into :f0, :f1... so all parameters are named."""
    index = 0
    out = []
    for char in sql:
        if char == "?":
            out.append(f":f{index}")
            index += 1
        else:
            out.append(char)
    return "".join(out)


def _edit_start(store: Store, prompt_id: int) -> tuple[Response, ...]:
    """The response an edit starts from: a model's or an imported one, else none."""
    responses = store.responses_for(prompt_id)
    machine = [r for r in responses if r.origin != "human"]
    start = machine or responses
    return (start[0],) if start else ()


def labeled_today(store: Store, annotator: str, since_iso: str) -> int:
    """Targets this annotator labeled since a moment (their current value not retracted)."""
    row = store.db.execute(
        "SELECT count(*) FROM (SELECT target, value, row_number() OVER (PARTITION BY target"
        " ORDER BY id DESC) AS rank FROM labels WHERE annotator = ? AND created_at >= ?)"
        " WHERE rank = 1 AND value != 'retracted'", [annotator, since_iso]).fetchone()
    return int(row[0])
