"""Worker processes for the concurrency probes: ``python fault_workers.py ROLE DATA SECONDS``.

Each worker appends what it confirmed (a committed label id and value, a finished import or
export) to ``DATA/confirmed-<role>-<pid>.jsonl`` only after the call returned, so the test can
check afterwards that every confirmed write is present.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from studio.data.importing.importer import import_path
from studio.data.snapshots import export_snapshot
from studio.db.store import Store


def _label(store: Store, log: Path, deadline: float) -> None:
    pid = os.getpid()
    prompt = store.add_prompt(f"labeler {pid} prompt")
    with log.open("a") as out:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            response = store.add_response(prompt, f"answer {pid}-{n}", origin="model")
            thumb = store.label_thumb(response, "up" if n % 2 else "down", f"ann{pid}")
            gold = store.label_gold(prompt, f"gold {pid}-{n}", f"ann{pid}", parent_id=response)
            for label in (thumb, gold):
                out.write(json.dumps({"id": label.id, "value": label.value}) + "\n")
            out.flush()


def _import(store: Store, log: Path, deadline: float, data: Path) -> None:
    n = 0
    while time.monotonic() < deadline:
        n += 1
        source = data / f"import-{os.getpid()}-{n}.jsonl"
        source.write_text("".join(
            json.dumps({"prompt": f"imported {n}-{i}", "completion": f"reply {n}-{i}"}) + "\n"
            for i in range(3000)))
        report = import_path(store, source)
        with log.open("a") as out:
            out.write(json.dumps({"import": str(source), "labels": report.labels_added}) + "\n")


def _export(store: Store, log: Path, deadline: float, data: Path) -> None:
    while time.monotonic() < deadline:
        store.label_gold(store.add_prompt("exporter prompt"), f"x{time.time()}", "exporter")
        snapshot = export_snapshot(store, "sft", data / "snapshots" / "sft-latest")
        with log.open("a") as out:
            out.write(json.dumps({"snapshot": snapshot.id}) + "\n")


def _big_import(store: Store, data: Path, rows: int) -> None:
    source = data / "big-import.jsonl"
    source.write_text("".join(
        json.dumps({"prompt": f"big {i}", "completion": f"reply {i}"}) + "\n"
        for i in range(rows)))
    (data / "import-started").write_text("")
    import_path(store, source)


def main() -> None:
    role, data, seconds = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    store = Store.open(data / "studio.db")
    if role == "open":
        store.close()
        return
    if role == "big-import":
        _big_import(store, data, int(seconds))
        store.close()
        return
    log = data / f"confirmed-{role}-{os.getpid()}.jsonl"
    deadline = time.monotonic() + seconds
    try:
        if role == "label":
            _label(store, log, deadline)
        elif role == "import":
            _import(store, log, deadline, data)
        else:
            _export(store, log, deadline, data)
    finally:
        store.close()


if __name__ == "__main__":
    main()
