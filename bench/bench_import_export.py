"""Import and export throughput: 100k JSONL rows in and out of a real database file.

Target (issue 2): 100k rows imported in under 10 s on a 2-core machine.
Run: .venv/bin/python bench/bench_import_export.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from studio.data.importing import import_path
from studio.data.snapshots import export_snapshot
from studio.db.store import Store


def write_rows(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i in range(count):
            handle.write(json.dumps({
                "prompt": [{"role": "user", "content": f"Question {i}: explain topic {i % 97}."}],
                "chosen": [{"role": "assistant", "content": f"A careful answer number {i}."}],
                "rejected": [{"role": "assistant", "content": f"A sloppy answer {i}"}],
            }) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="rows to import")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "prefs.jsonl"
        write_rows(source, args.rows)
        store = Store.open(folder / "studio.db")
        start = time.perf_counter()
        report = import_path(store, source)
        imported = time.perf_counter() - start
        start = time.perf_counter()
        again = import_path(store, source)
        reimported = time.perf_counter() - start
        start = time.perf_counter()
        snapshot = export_snapshot(store, "dpo", folder / "snapshot")
        exported = time.perf_counter() - start
        store.close()
    rows = args.rows
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, python {platform.python_version()}")
    print(f"import    {rows} rows: {imported:6.2f} s  {rows / imported:9.0f} rows/s"
          f"  ({report.labels_added} labels)")
    print(f"re-import {rows} rows: {reimported:6.2f} s  {rows / reimported:9.0f} rows/s"
          f"  ({again.labels_added} labels added)")
    exported_rows = snapshot.counts["train"] + snapshot.counts["eval"]
    print(f"export    {exported_rows} pairs: {exported:6.2f} s"
          f"  {exported_rows / exported:9.0f} rows/s")
    print(f"target: import of 100k rows under 10 s -> {'met' if imported < 10 else 'missed'}"
          f" ({imported / 10:.2f} of the budget)")


if __name__ == "__main__":
    main()
