"""Where an import's time goes: wall time per SQL statement of ``write_parsed`` (the write
pass), against the Python around it.

    python bench/import_breakdown.py [--rows 1000000] [--dir DIR]

Writes the bench's preference JSONL (bench_store_scale.write_import_file, seed 25), checks it
(``parse_path``, timed apart), then imports it into a fresh store with the store's connection
wrapped, so each ``execute``/``executemany``/``commit`` is timed by its SQL. What is left of
the write's wall time is Python: reading, parsing, hashing and building rows.
"""

from __future__ import annotations

import argparse
import collections
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


class TimedConnection:
    """A sqlite3 connection whose statements add their wall time to ``spent`` by SQL."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self.spent: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def _timed(self, key: str, call: Any, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return call(*args)
        finally:
            self.spent[key] += time.perf_counter() - started
            self.calls[key] += 1

    def execute(self, sql: str, *args: Any) -> Any:
        return self._timed(" ".join(sql.split())[:90], self._conn.execute, sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self._timed("many: " + " ".join(sql.split())[:84], self._conn.executemany,
                           sql, *args)

    def commit(self) -> None:
        self._timed("commit", self._conn.commit)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    from bench_store_scale import write_import_file

    from studio.data.importing.importer import parse_path
    from studio.data.importing.writer import write_parsed
    from studio.db.store import Store

    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-breakdown-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"# import_breakdown {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())};"
          f" {platform.machine()}, python {platform.python_version()}")
    print(f"# command: python bench/import_breakdown.py {' '.join(argv or sys.argv[1:])}")
    source = folder / f"preferences-{args.rows}.jsonl"
    if not source.exists():
        write_import_file(source, args.rows, 25)
    store = Store.open(folder / "studio.db")
    try:
        timed = TimedConnection(store.db.conn)
        store.db.conn = timed  # type: ignore[assignment]
        started = time.perf_counter()
        parsed = parse_path(source)
        checked = time.perf_counter() - started
        started = time.perf_counter()
        write_parsed(store, parsed)
        written = time.perf_counter() - started
    finally:
        store.close()
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    sql = sum(timed.spent.values())
    print(f"{args.rows:,} rows: check pass {checked:.1f} s, write pass {written:.1f} s"
          f" ({args.rows / (checked + written):,.0f} rows/s), of which SQLite {sql:.1f} s"
          f" and Python {written - sql:.1f} s")
    for key, seconds in timed.spent.most_common(14):
        print(f"  {seconds:7.2f} s {timed.calls[key]:6,}x  {key}")


if __name__ == "__main__":
    main()
