"""An import skips the per-row triggers through a flag only its transaction sees, never by
dropping them: DDL would change the schema every other process has cached (a writer in
another process failed now and then with "no such table: prompts" after such an import)."""

from __future__ import annotations

import json
from pathlib import Path

from studio.data.importing import import_path
from studio.db.store import Store
from studio.db.summaries import BULK_FLAG, BULK_GUARD, BULK_TRIGGERS


def test_an_import_changes_no_schema_and_the_triggers_still_count(store: Store,
                                                                   tmp_path: Path) -> None:
    triggers = dict(store.db.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
    assert all(BULK_GUARD in triggers[name] for name in BULK_TRIGGERS)
    version = store.db.execute("PRAGMA schema_version").fetchone()[0]
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"q {i}", "completion": f"a {i}"}) + "\n"
                              for i in range(50)), encoding="utf-8")
    report = import_path(store, source)
    assert report.prompts_added == 50
    assert store.db.execute("PRAGMA schema_version").fetchone()[0] == version
    assert store.db.execute(f"SELECT count(*) FROM {BULK_FLAG}").fetchone()[0] == 0
    # The counts the bulk path caught up, and the per-row triggers after it, agree.
    prompt = store.add_prompt("after the import")
    store.add_response(prompt, "one")
    counts = store.db.execute("SELECT sum(response_count) FROM prompts").fetchone()[0]
    assert counts == store.counts()["responses"]
    hits = store.db.execute("SELECT count(*) FROM prompt_search WHERE prompt_search MATCH"
                            " '\"after the\"'").fetchone()[0]
    assert hits == 1
