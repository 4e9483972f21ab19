"""The label store at scale: every Data-page query, a row click, readiness, label commits under
a concurrent readiness refresh, and an import's rows/s and peak memory.

    python bench/bench_store_scale.py [--prompts 1000000] [--import-rows N] [--dir DIR]

Builds a seeded store of N prompts, 2N responses and N label events (bulk inserts in one
transaction, not the app's per-row path; about one event in twenty is a later undo or a second
annotator, so "the label that counts" is not trivial), then times each query the Data page
runs (studio.db.browse, the row click, the readiness panel) on a warm connection. Label
commits go through the UI's store worker (ui.ops.Ops) while the readiness report and a sort
are queued as the Data page queues them after each label, so the figure is what a person
waits for. The import writes a JSONL of preference rows and imports it with the CLI in a
child process, whose peak RSS comes from getrusage.

Targets (issue 25, 2 cores): every Data-page query <= 200 ms at 1M prompts, a row click
<= 50 ms, label commit p95 <= 30 ms while readiness recomputes, import >= 20k rows/s with
<= 500 MB RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SOURCES = ["ultrafeedback", "hh-rlhf", "manual", "starter", "import:web.jsonl", "round-2",
           "evol", "oasst"]
TAGS = ["math", "code", "chat", "safety", "writing", "reasoning"]
WORDS = ("the a model answer question explain why how list code python number data small large"
         " write short story poem reason step first then finally because example").split()


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def build_store(db_path: Path, prompts: int, seed: int) -> dict[str, float]:
    """Bulk-insert the seeded store; returns the seconds it took."""
    from studio.db.records import now_iso, prompt_hash, text_hash
    from studio.db.store import Store

    rng = random.Random(seed)
    started = time.perf_counter()
    store = Store.open(db_path)
    now = now_iso()

    def prompt_rows() -> Any:
        for i in range(prompts):
            text = f"Question {i}: {_sentence(rng, 12)}?"
            messages = [{"role": "user", "content": text}]
            tags = rng.sample(TAGS, rng.randint(0, 2))
            yield (prompt_hash(messages, None), json.dumps(messages), text, json.dumps(tags),
                   SOURCES[rng.randrange(len(SOURCES))], now)

    def response_rows() -> Any:
        for p in range(1, prompts + 1):
            for r in range(2):
                text = f"Answer {r} to {p}. {_sentence(rng, 40)}"
                yield p, text_hash(text), text, "model", f"model-{r}", now

    def label_rows() -> Any:
        # Prompt p has responses 2p-1 and 2p. Event kinds rotate; a few are undone later or
        # relabeled by a second annotator, so counting needs the latest event per target.
        for i in range(prompts):
            p = i + 1
            left, right = 2 * p - 1, 2 * p
            roll = rng.random()
            if roll < 0.45:
                value = "up" if rng.random() < 0.6 else "down"
                yield ("thumb", f"thumb:{left}", p, left, None, None, value, "alice", "human",
                       now)
            elif roll < 0.85:
                value = rng.choice(["left", "right", "left", "tie"])
                yield ("pair", f"pair:{left}:{right}", p, None, left, right, value, "alice",
                       "human", now)
            elif roll < 0.95:
                yield ("gold", f"gold:{right}", p, right, None, None, "gold", "alice", "human",
                       now)
            elif roll < 0.975:
                yield ("thumb", f"thumb:{right}", p, right, None, None, "up", "alice", "human",
                       now)
                yield ("thumb", f"thumb:{right}", p, right, None, None, "retracted", "alice",
                       "human", now)
            else:
                yield ("thumb", f"thumb:{left}", p, left, None, None, "up", "alice", "human",
                       now)
                yield ("thumb", f"thumb:{left}", p, left, None, None, "down", "bob", "human",
                       now)

    try:  # the store's bulk path (per-row triggers off, summaries caught up once), if any
        from studio.db.summaries import bulk_writes
        bulk: Any = bulk_writes
    except ImportError:
        bulk = lambda db: contextlib.nullcontext()  # noqa: E731 - before the summaries
    with store.atomic(), bulk(store.db):
        conn = store.db.conn
        conn.executemany("INSERT INTO prompts (hash, messages, system, text, tags, source,"
                         " created_at) VALUES (?, ?, NULL, ?, ?, ?, ?)", prompt_rows())
        conn.executemany("INSERT INTO responses (prompt_id, hash, text, origin, model,"
                         " created_at) VALUES (?, ?, ?, ?, ?, ?)", response_rows())
        conn.executemany("INSERT INTO labels (kind, target, prompt_id, response_id, left_id,"
                         " right_id, value, annotator, annotator_kind, created_at) VALUES"
                         " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", label_rows())
    built = time.perf_counter() - started
    store.close()
    return {"build_s": built}


def _timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """The best of ``repeat`` runs in ms (the first run warms the cache), and the result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, (time.perf_counter() - started) * 1000)
    return best, result


def data_page_queries(db_path: Path, prompts: int, slow_repeat: int) -> list[tuple[str, float]]:
    from studio.app.overview import readiness_report
    from studio.db import browse
    from studio.db.browse import BrowseQuery
    from studio.db.store import Store
    from studio.labels.suggestions import detail_with_suggestions

    store = Store.open(db_path)
    total = browse.count(store, BrowseQuery())
    rows: list[tuple[str, float]] = []

    def add(name: str, fn: Callable[[], Any], repeat: int = 3) -> Any:
        ms, result = _timed(fn, repeat)
        rows.append((name, ms))
        print(f"  {name:<44} {ms:10.1f} ms", flush=True)
        return result

    q = BrowseQuery
    add("count (no filter)", lambda: browse.count(store, q()))
    add("first page (200 rows, by id)", lambda: browse.page(store, q(), 0, 200))
    add("last page", lambda: browse.page(store, q(), max(total - 200, 0), 200))
    add("middle page", lambda: browse.page(store, q(), total // 2, 200))
    for sort in ("source", "labels", "responses", "prompt", "created"):
        add(f"sort by {sort}, first page", lambda s=sort: browse.page(store, q(sort=s), 0, 200))
        add(f"sort by {sort} desc, first page",
            lambda s=sort: browse.page(store, q(sort=s, descending=True), 0, 200))
    add("sort by labels, middle page",
        lambda: browse.page(store, q(sort="labels"), total // 2, 200))
    for name, query in (
            ("search 'Question 12345'", q(search="Question 12345")),
            ("search 'poem story'", q(search="poem story")),
            ("search 'story' (in 37%), by labels desc", q(search="story", sort="labels",
                                                           descending=True)),
            ("search 'the' (in 62%)", q(search="the")),
            ("search 'po' (2 chars: no trigram)", q(search="po")),
            ("source filter", q(source="evol")),
            ("tag filter", q(tag="safety")),
            ("labeled", q(labeled="labeled")),
            ("unlabeled", q(labeled="unlabeled")),
            ("kind pair", q(kind="pair")),
            ("annotator bob", q(annotator="bob")),
            ("source + unlabeled, by labels", q(source="evol", labeled="unlabeled",
                                                sort="labels"))):
        add(f"count: {name}", lambda qq=query: browse.count(store, qq))
        add(f"first page: {name}", lambda qq=query: browse.page(store, qq, 0, 200))
    add("filter menus (sources, tags)", lambda: browse.sources_and_tags(store))
    add("filter menu (annotators)", lambda: browse.annotators(store))
    for at in (1, prompts // 2, prompts):
        add(f"row click (prompt_detail #{at})",
            lambda pid=at: detail_with_suggestions(store, pid))
    # Prompts that still exist (a reused store lost a few to earlier runs).
    victims = iter([row[0] for row in store.db.execute(
        "SELECT id FROM prompts WHERE id >= ? ORDER BY id LIMIT 3", [prompts // 3])])
    add("delete a prompt (Data page action)", lambda: store.delete_prompt(next(victims)))
    add("readiness report, first (derives every stale prompt)",
        lambda: readiness_report(store), repeat=1)
    add("readiness report", lambda: readiness_report(store), repeat=slow_repeat)
    store.label_thumb(2, "up", "carol")
    add("readiness report after one new label", lambda: readiness_report(store), repeat=1)
    store.close()
    return rows


def query_plans(db_path: Path) -> None:
    """EXPLAIN QUERY PLAN of each Data-page query shape: a SCAN of prompts or labels (not a
    covering index walk that stops at a page) is what made them slow."""
    from studio.db.browse import SORT_COLUMNS, BrowseQuery
    from studio.db.store import Store

    store = Store.open(db_path)

    def show(name: str, sql: str, params: list[Any]) -> None:
        steps = [row[3] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        print(f"  {name}: {' | '.join(steps)}")

    q = BrowseQuery
    for name, query in (("no filter", q()), ("search", q(search="poem")),
                        ("source", q(source="evol")), ("tag", q(tag="safety")),
                        ("labeled", q(labeled="labeled")), ("unlabeled", q(labeled="unlabeled")),
                        ("kind", q(kind="pair")), ("annotator", q(annotator="bob"))):
        where, params = query.where()
        show(f"count, {name}", f"SELECT count(*) FROM prompts p WHERE {where}", params)
        show(f"page, {name}", f"SELECT p.id FROM prompts p WHERE {where} ORDER BY p.id"
             " LIMIT 200", params)
    for sort, column in SORT_COLUMNS.items():
        show(f"page sorted by {sort}", f"SELECT p.id FROM prompts p ORDER BY {column} DESC,"
             " p.id DESC LIMIT 200", [])
    show("row click (labels of one prompt)", "SELECT * FROM labels WHERE superseded = 0 AND"
         " value != 'retracted' AND prompt_id IN (?) ORDER BY id", [1])
    store.close()


def train_scope(db_path: Path) -> dict[str, float]:
    """The Train page's "Train on" count: as it was (every current label built and derived,
    once for the person's own and once for all) and as it is (studio.app.train_scope)."""
    from studio.app.train_scope import describe_scope
    from studio.data.derive import derive
    from studio.data.scope import made_here
    from studio.db.store import Store

    store = Store.open(db_path)
    try:
        started = time.perf_counter()
        labels = store.current_labels()
        own = len(derive(store, labels=[label for label in labels if made_here(label)]).dpo)
        every = len(derive(store, labels=labels).dpo)
        before = time.perf_counter() - started
        after, choice = _timed(lambda: describe_scope(store, "dpo", "all"))
        if choice.count != every:
            raise SystemExit(f"train scope: {choice.count} pairs now, {every} derived")
        # As after an import: every label but a person's few on the first 2,000 prompts came
        # with a file (rolled back after: the store stays as built).
        store.db.execute("BEGIN IMMEDIATE")
        store.db.execute("UPDATE labels SET annotator_kind = 'import' WHERE NOT"
                         " (annotator = 'alice' AND prompt_id <= 2000)")
        imported, mixed = _timed(lambda: describe_scope(store, "dpo", "mine"))
        store.db.conn.rollback()
        return {"before_s": before, "after_ms": after, "pairs": every, "own": own,
                "imported_ms": imported, "imported_own": mixed.count}
    finally:
        store.close()


def label_commits(db_path: Path, commits: int) -> dict[str, float]:
    """Label commits through the UI's store worker while the Data page's refreshes run."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication

    from studio.app.overview import readiness_report
    from studio.db import browse
    from studio.db.browse import BrowseQuery
    from ui.ops import Ops

    app = QCoreApplication.instance() or QCoreApplication([])
    ops = Ops(db_path)
    # The Data page's reads: on a reader worker where the UI has one, else the store worker.
    read = getattr(ops, "read", ops.run)
    waits = []
    try:
        for n in range(commits):
            read(readiness_report)
            read(lambda store: browse.page(store, BrowseQuery(sort="labels", descending=True),
                                           0, 200))
            started = time.perf_counter()
            ops.call(lambda store, i=n: store.label_thumb(2 * (i % 1000) + 1,
                                                          "up" if i % 2 else "down", "dave"),
                     timeout=3600)
            waits.append((time.perf_counter() - started) * 1000)
            app.processEvents()
        # Let the queued reads finish before the worker stops.
        ops.call(lambda store: None, timeout=3600)
    finally:
        ops.shutdown()
    waits.sort()
    return {"n": len(waits), "p50_ms": statistics.median(waits),
            "p95_ms": waits[max(0, int(len(waits) * 0.95) - 1)], "max_ms": waits[-1]}


def label_commits_during_rebuild(db_path: Path) -> dict[str, float]:
    """The worst case: every labeled prompt's readiness is stale (a store just upgraded, or a
    huge import), and the reader derives them all while labels are committed every 20 ms."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication

    from studio.app.overview import readiness_report
    from studio.db.store import Store
    from ui.ops import Ops

    store = Store.open(db_path)
    with store.atomic():
        store.db.execute("INSERT OR IGNORE INTO readiness_dirty (prompt_id)"
                         " SELECT id FROM prompts WHERE label_count > 0")
    stale = store.db.execute("SELECT count(*) FROM readiness_dirty").fetchone()[0]
    store.close()
    app = QCoreApplication.instance() or QCoreApplication([])
    ops = Ops(db_path)
    finished = threading.Event()
    started = time.perf_counter()
    ops.read(lambda s: (readiness_report(s), finished.set()))
    waits = []
    try:
        while not finished.is_set():
            response = 2 * (len(waits) % 1000) + 3
            begun = time.perf_counter()
            ops.call(lambda s, r=response: s.label_thumb(r, "up", "erin"), timeout=3600)
            waits.append((time.perf_counter() - begun) * 1000)
            app.processEvents()
            time.sleep(0.02)
    finally:
        ops.shutdown()
    waits.sort()
    return {"stale": stale, "rebuild_s": time.perf_counter() - started, "n": len(waits),
            "p50_ms": statistics.median(waits),
            "p95_ms": waits[max(0, int(len(waits) * 0.95) - 1)], "max_ms": waits[-1]}


def label_commits_during_queue_overview(db_path: Path, commits: int,
                                        on_reader: bool = True) -> dict[str, float]:
    """Label commits through the store worker while the Label page's queue overview (its full
    count of what is left to label) runs on the reader (``Ops.read``), or, as before issue
    25's fix, on the store worker itself (``Ops.run``), where each commit queues behind it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication

    from studio.app.overview import queue_overview
    from studio.labels.queue import LabelQueue
    from ui.ops import Ops

    app = QCoreApplication.instance() or QCoreApplication([])
    ops = Ops(db_path)
    queue = ops.call(lambda store: LabelQueue(store, "dave", mode="thumb"), timeout=3600)
    counted: list[float] = []

    def overview(store: Any) -> None:
        begun = time.perf_counter()
        queue_overview(store, queue, "dave", "1970-01-01T00:00:00")
        counted.append(time.perf_counter() - begun)

    waits: list[float] = []
    queued = 0
    try:
        # A commit every 20 ms (a fast labeler), with one overview always in flight, until
        # both enough commits and two whole overviews are done.
        while (len(waits) < commits or len(counted) < 2) and len(waits) < 20_000:
            if len(counted) == queued:
                (ops.read if on_reader else ops.run)(overview)
                queued += 1
            started = time.perf_counter()
            response = 2 * (len(waits) % 1000) + 1
            ops.call(lambda store, r=response: store.label_thumb(r, "up", "dave"),
                     timeout=3600)
            waits.append((time.perf_counter() - started) * 1000)
            app.processEvents()
            time.sleep(0.02)
        while len(counted) < queued:  # the read in flight finishes before the stop
            time.sleep(0.05)
    finally:
        ops.shutdown()
    waits.sort()
    return {"n": len(waits), "p50_ms": statistics.median(waits),
            "p95_ms": waits[max(0, int(len(waits) * 0.95) - 1)], "max_ms": waits[-1],
            "overview_s": statistics.median(counted)}


def write_import_file(path: Path, rows: int, seed: int) -> int:
    rng = random.Random(seed + 1)
    with path.open("w", encoding="utf-8") as out:
        for i in range(rows):
            out.write(json.dumps({
                "prompt": f"Imported question {i}: {_sentence(rng, 10)}?",
                "chosen": f"A good answer {i}. {_sentence(rng, 14)}",
                "rejected": f"A worse answer {i}. {_sentence(rng, 12)}",
            }) + "\n")
    return path.stat().st_size


def import_in_child(folder: Path, source: Path, code: Path = ROOT) -> dict[str, float]:
    """The CLI import in a child process (of the code at ``code``): wall time, and that child's
    own CPU time and peak RSS (from wait4, so each run's figures are its own)."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "studio.cli.main", "--data-dir",
                                  str(folder), "import", str(source)], env=env, stdout=out,
                                 stderr=subprocess.STDOUT, text=True, cwd=code)  # -m: cwd first
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        text = out.read()
    if child.returncode != 0:
        raise SystemExit(f"import failed: {text[-2000:]}")
    lines = [line for line in text.splitlines() if line.strip()]
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "last_line": lines[-1] if lines else "",
            "progress_lines": len(lines) - 1}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=1_000_000)
    parser.add_argument("--import-rows", type=int, default=None,
                        help="preference rows to import (default: as many as --prompts)")
    parser.add_argument("--commits", type=int, default=60)
    parser.add_argument("--slow-repeat", type=int, default=2,
                        help="repeats of the readiness report (slow before the fix)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="keep the store here and reuse it when it exists")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--skip", nargs="*", default=[], choices=["queries", "commits",
                                                                   "rebuild", "overview",
                                                                   "import", "scope"])
    parser.add_argument("--plans", action="store_true", help="print each query's plan")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a source tree of earlier code: its import runs first, same file")
    args = parser.parse_args(argv)
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-store-"))
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "studio.db"
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()
    print(f"# bench_store_scale {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
          f" commit {commit}; {platform.processor() or platform.machine()},"
          f" {os.cpu_count()} cores; python {platform.python_version()}")
    print(f"# command: python bench/bench_store_scale.py {' '.join(argv or sys.argv[1:])}")
    if not db_path.exists():
        built = build_store(db_path, args.prompts, args.seed)
        print(f"built {args.prompts:,} prompts / {2 * args.prompts:,} responses /"
              f" ~{args.prompts:,} label events in {built['build_s']:.1f} s"
              f" ({db_path.stat().st_size / 1e6:.0f} MB)", flush=True)
    from studio.db.store import Store

    started = time.perf_counter()
    Store.open(db_path).close()  # any pending migration runs here, once
    print(f"open (migrations) {time.perf_counter() - started:.1f} s", flush=True)
    if args.plans:
        print("Query plans:", flush=True)
        query_plans(db_path)
    if "queries" not in args.skip:
        print("Data page (best of 3, warm):", flush=True)
        data_page_queries(db_path, args.prompts, args.slow_repeat)
    if "scope" not in args.skip:
        result = train_scope(db_path)
        print(f"Train page, 'Train on' count (DPO, {result['pairs']:,.0f} pairs,"
              f" {result['own']:,.0f} the person's own): every label derived again"
              f" {result['before_s']:.1f} s;"
              f" readiness sums and own labels {result['after_ms']:.1f} ms; with all but"
              f" {result['imported_own']:,.0f} of the pairs' labels imported"
              f" {result['imported_ms']:.1f} ms", flush=True)
    if "commits" not in args.skip:
        result = label_commits(db_path, args.commits)
        print(f"label commit while readiness + sort refresh: n={result['n']:.0f}"
              f" p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms,"
              f" max {result['max_ms']:.1f} ms", flush=True)
    if "rebuild" not in args.skip and hasattr(__import__("ui.ops").ops.Ops, "read"):
        result = label_commits_during_rebuild(db_path)
        print(f"label commit while readiness derives all {result['stale']:,.0f} labeled prompts"
              f" ({result['rebuild_s']:.1f} s): n={result['n']:.0f} p50 {result['p50_ms']:.1f}"
              f" ms, p95 {result['p95_ms']:.1f} ms, max {result['max_ms']:.1f} ms", flush=True)
    if "overview" not in args.skip:
        for where, on_reader, commits in (("the store worker (before)", False, 10),
                                          ("the reader (after)", True, args.commits)):
            result = label_commits_during_queue_overview(db_path, commits, on_reader)
            print(f"label commit while the Label page's queue overview counts on {where}"
                  f" ({result['overview_s']:.1f} s each): n={result['n']:.0f}"
                  f" p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms,"
                  f" max {result['max_ms']:.1f} ms", flush=True)
    if "import" not in args.skip:
        rows = args.import_rows or args.prompts
        scratch = Path(tempfile.mkdtemp(prefix="bench-import-", dir=folder))
        try:
            source = scratch / "preferences.jsonl"
            size = write_import_file(source, rows, args.seed)
            runs = [("baseline", args.baseline)] if args.baseline else []
            for name, code in [*runs, ("this code", ROOT)]:
                result = import_in_child(scratch / f"data-{len(name)}", source, code)
                print(f"import {rows:,} preference rows ({size / 1e6:.0f} MB JSONL) in a child,"
                      f" {name} ({code}): {result['wall_s']:.1f} s wall,"
                      f" {rows / result['wall_s']:,.0f} rows/s, CPU {result['cpu_s']:.1f} s"
                      f" ({rows / result['cpu_s']:,.0f} rows per CPU-second), peak RSS"
                      f" {result['peak_rss_mb']:.0f} MB;"
                      f" {result['progress_lines']} progress lines; {result['last_line']}",
                      flush=True)
                shutil.rmtree(scratch / f"data-{len(name)}", ignore_errors=True)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if args.dir is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
