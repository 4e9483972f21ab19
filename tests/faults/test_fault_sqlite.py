"""Family 2: concurrent writers on one data folder never fail and never lose a write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.data.snapshots import export_snapshot, load_manifest
from studio.db.store import Store

# Several processes and a big import each: the heavy tier (left out of `make test-fast`).
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "faults-label-latency.txt"
WORKER = Path(__file__).with_name("fault_workers.py")


def _start(role: str, data: Path, seconds: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(WORKER), role, str(data), str(seconds)],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait_all(workers: list[subprocess.Popen[str]]) -> list[str]:
    failures = []
    for worker in workers:
        output, _ = worker.communicate(timeout=120)
        if worker.returncode != 0:
            failures.append(output[-2000:])
    return failures


@pytest.mark.parametrize("attempt", range(2))
def test_three_processes_create_a_new_data_folder_at_once(tmp_path: Path, attempt: int) -> None:
    data = tmp_path / f"new-{attempt}"
    data.mkdir()
    assert _wait_all([_start("open", data, 0) for _ in range(3)]) == []
    store = Store.open(data / "studio.db")
    assert store.counts() == {"prompts": 0, "responses": 0, "labels": 0}
    store.close()


def test_label_import_and_export_at_once_lose_nothing(
        tmp_path: Path, lost_writes: Callable[[int], None]) -> None:
    data = tmp_path / "shared"
    data.mkdir()
    Store.open(data / "studio.db").close()
    roles = ["label", "label", "import", "export"]
    failures = _wait_all([_start(role, data, 8) for role in roles])
    assert failures == [], failures
    store = Store.open(data / "studio.db")
    confirmed = [json.loads(line) for log in data.glob("confirmed-label-*.jsonl")
                 for line in log.read_text().splitlines()]
    assert len(confirmed) > 20  # the labelers did real work
    stored = {row["id"]: row["value"] for row in store.db.query("SELECT id, value FROM labels")}
    missing = [c for c in confirmed if stored.get(c["id"]) != c["value"]]
    imports = [json.loads(line) for log in data.glob("confirmed-import-*.jsonl")
               for line in log.read_text().splitlines()]
    assert imports, "the importer finished no import in time"
    imported = store.db.execute(
        "SELECT count(*) FROM labels WHERE annotator = 'import'").fetchone()[0]
    lost = len(missing) + max(0, sum(i["labels"] for i in imports) - imported)
    lost_writes(lost)
    store.close()
    assert lost == 0
    assert load_manifest(data / "snapshots" / "sft-latest")["kind"] == "sft"


def test_a_label_made_during_a_big_import_waits_for_it_and_is_stored(tmp_path: Path) -> None:
    """An import is one transaction (all or nothing even on a full disk), so a label from
    another process waits for its commit: it must then be stored, never fail or be lost."""
    data = tmp_path / "busy"
    data.mkdir()
    store = Store.open(data / "studio.db")
    response = store.add_response(store.add_prompt("labeling"), "an answer")
    importer = _start("big-import", data, 40_000)
    waits, made = [], []
    while importer.poll() is None:
        started = time.monotonic()
        made.append(store.label_thumb(response, "up" if len(made) % 2 else "down", "me"))
        waits.append(time.monotonic() - started)
        time.sleep(0.02)
    assert _wait_all([importer]) == []
    imported = store.counts()["prompts"]
    stored = {row[0]: row[1] for row in store.db.execute("SELECT id, value FROM labels")}
    store.close()
    assert imported == 40_001
    assert all(stored.get(label.id) == label.value for label in made)
    RESULTS.write_text(f"labels during a 40k-row import (one transaction): n={len(waits)},"
                       f" max wait {max(waits) * 1000:.0f} ms,"
                       f" median {sorted(waits)[len(waits) // 2] * 1000:.0f} ms\n")


def test_two_exports_to_the_same_folder_both_succeed(store: Store, tmp_path: Path) -> None:
    import threading

    prompt = store.add_prompt("p")
    store.label_gold(prompt, "gold", "me")
    errors: list[BaseException] = []
    out = tmp_path / "snap"

    def export() -> None:
        own = Store.open(store.db.execute("PRAGMA database_list").fetchone()[2])
        try:
            for _ in range(10):
                export_snapshot(own, "sft", out)
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)
        finally:
            own.close()

    threads = [threading.Thread(target=export) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".snap")) == []
    assert load_manifest(out)["counts"]["train"] + load_manifest(out)["counts"]["eval"] == 1
