"""The search index is kept by the store's own prompt writes, not by triggers: with the FTS5
table inside a trigger on ``prompts``, a process writing a prompt just after another's import
(which drops and re-creates the summary triggers in its transaction) failed now and then with
"no such table: prompts"; tests/faults/test_fault_sqlite.py runs that race."""

from __future__ import annotations

import json
from pathlib import Path

from studio.data.importing import import_path
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
