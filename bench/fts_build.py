"""Building the trigram search index of a bulk import: FTS5's in-memory buffer ('hashsize')
and how the rows are handed to it.

    python bench/fts_build.py [--rows 1000000]

Indexes the prompts of the bench's preference JSONL (seed 25) into a fresh FTS5 trigram table
in one transaction, 2,000 rows per statement, four ways: the default 1 MB buffer or 64 MB,
rows bound one by one (executemany) or INSERT ... SELECT from a table. FTS5 writes its
buffer out as a segment at the start of every statement that opens a statement journal
(INSERT ... SELECT does), so a per-batch INSERT ... SELECT writes a segment per batch
whatever the buffer: studio/db/summaries.py catches the index up every 50k prompts instead.
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def build(texts: list[tuple[int, str]], buffer: int | None, select: bool, folder: Path) -> float:
    path = folder / f"fts-{buffer}-{select}.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA cache_size = -163840")
        conn.execute("CREATE TABLE src (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("CREATE VIRTUAL TABLE s USING fts5(body, tokenize='trigram')")
        if buffer:
            conn.execute("INSERT INTO s (s, rank) VALUES ('hashsize', ?)", [buffer])
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO src VALUES (?, ?)", texts)
        started = time.perf_counter()
        for start in range(0, len(texts), 2000):
            if select:
                conn.execute("INSERT INTO s (rowid, body) SELECT id, body FROM src WHERE"
                             " id > ? AND id <= ?", [start, start + 2000])
            else:
                conn.executemany("INSERT INTO s (rowid, body) VALUES (?, ?)",
                                 texts[start:start + 2000])
        conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()
        path.unlink(missing_ok=True)
        Path(f"{path}-wal").unlink(missing_ok=True)
        Path(f"{path}-shm").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    from bench_store_scale import write_import_file

    print(f"# fts_build {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())};"
          f" {platform.machine()}, python {platform.python_version()},"
          f" SQLite {sqlite3.sqlite_version}")
    print(f"# command: python bench/fts_build.py {' '.join(argv or sys.argv[1:])}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "preferences.jsonl"
        write_import_file(source, args.rows, 25)
        with source.open(encoding="utf-8") as rows:
            texts = [(i + 1, json.loads(line)["prompt"]) for i, line in enumerate(rows)]
        for buffer in (None, 64 * 1024 * 1024):
            for select in (False, True):
                seconds = build(texts, buffer, select, folder)
                print(f"{args.rows:,} prompts, buffer {'64 MB' if buffer else '1 MB (default)'},"
                      f" {'INSERT ... SELECT' if select else 'executemany'} per 2,000:"
                      f" {seconds:.1f} s", flush=True)


if __name__ == "__main__":
    main()
