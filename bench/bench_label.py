"""Labeling latency and cold start at scale.

    .venv/bin/python bench/bench_label.py [--prompts 100000] [--responses-per-prompt 2]

Builds a database with 100k prompts and 200k responses (a fifth of the responses already
thumb-labeled, so the queue starts deep into the table), then measures with the real window:

* key press -> next item drawn, p50/p95, for thumbs and pairwise, at a human pace (the
  worker is idle between presses) and in a burst (keys as fast as the UI takes them);
* cold start: process spawn -> window shown with the first item drawn, in a fresh process,
  and that the GUI process imported none of torch / transformers / trl / peft / llama_cpp.

Targets (issue 3): p95 < 30 ms, cold start < 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "llama_cpp", "accelerate")


def build_database(folder: Path, prompts: int, per_prompt: int) -> Path:
    from studio.db.records import now_iso, prompt_hash, text_hash
    from studio.db.store import Store
    from studio.paths import DataPaths

    paths = DataPaths.at(folder)
    store = Store.open(paths.db)
    now = now_iso()
    body = "A reasonably long answer with some **markdown**, a list:\n\n- one\n- two\n\n" \
           "```python\nprint('hello')\n```\n" * 3
    with store.atomic():
        store.db.conn.executemany(
            "INSERT INTO prompts (hash, messages, system, text, tags, source, created_at)"
            " VALUES (?, ?, NULL, ?, ?, ?, ?)",
            ((prompt_hash([{"role": "user", "content": f"Question {i}?"}], None),
              json.dumps([{"role": "user", "content": f"Question {i}?"}]), f"Question {i}?",
              json.dumps(["bench" if i % 2 else "other"]), f"bench-{i % 5}", now)
             for i in range(prompts)))
        store.db.conn.executemany(
            "INSERT INTO responses (prompt_id, hash, text, origin, model, created_at)"
            " VALUES (?, ?, ?, 'model', 'bench', ?)",
            ((p + 1, text_hash(f"{r}:{p}"), f"Answer {r} to question {p}.\n\n{body}", now)
             for p in range(prompts) for r in range(per_prompt)))
        labeled = prompts * per_prompt // 5
        store.db.conn.executemany(
            "INSERT INTO labels (kind, target, prompt_id, response_id, value, annotator,"
            " annotator_kind, source, created_at) VALUES ('thumb', ?, ?, ?, 'up', 'bench',"
            " 'human', 'label', ?)",
            ((f"thumb:{rid}", (rid - 1) // per_prompt + 1, rid, now)
             for rid in range(1, labeled + 1)))
    store.close()
    return paths.root


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_keys(data_dir: Path, presses: int) -> dict[str, dict[str, float]]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from ui.app import build_window
    from ui.theme import apply_theme

    apply_theme(app, "light")
    window = build_window(str(data_dir), str(data_dir / "bench-settings.ini"))
    window.context.set_annotator("bench")
    window.resize(1280, 800)
    window.show()
    page = window.show_page("Label")

    def wait(predicate: object, timeout: float = 30.0) -> None:
        deadline = time.perf_counter() + timeout
        while not predicate() and time.perf_counter() < deadline:  # type: ignore[operator]
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)

    results = {}
    for mode, key, mode_key in (("thumb", Qt.Key.Key_U, Qt.Key.Key_1),
                                ("pair", Qt.Key.Key_T, Qt.Key.Key_2)):
        QTest.keyClick(page, mode_key)
        for pace in ("human", "burst"):
            wait(lambda: page.session.current is not None and not window.context.ops.busy)
            times = []
            for _ in range(presses):
                if pace == "human":
                    wait(lambda: not window.context.ops.busy and page.session.prefetch_ready)
                start = time.perf_counter()
                QTest.keyClick(page, key)
                wait(lambda: page.session.current is not None)
                page.repaint()  # paint now: "drawn" means on screen, not just queued
                times.append((time.perf_counter() - start) * 1000)
            results[f"{mode}/{pace}"] = {"p50_ms": statistics.median(times),
                                         "p95_ms": percentile(times, 0.95),
                                         "max_ms": max(times)}
    wait(lambda: not window.context.ops.busy)
    QTimer.singleShot(0, window.close)
    window.close()
    return results


COLD = """
import sys, time
start = float(sys.argv[2])
from PySide6.QtWidgets import QApplication
app = QApplication([])
from ui.app import build_window
from ui.theme import follow_system
follow_system(app)
w = build_window(sys.argv[1], sys.argv[1] + "/cold-settings.ini")
w.show()
app.processEvents()
shown = time.time() - start
page = w.show_page("Label")
while page.session.current is None and time.time() - start < 30:
    app.processEvents()
drawn = time.time() - start
heavy = [m for m in %r if m in sys.modules]
print(f"{shown:.3f} {drawn:.3f} {','.join(heavy) or '-'}", flush=True)
w.close()
"""


def measure_cold_start(data_dir: Path, runs: int) -> dict[str, object]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    shown, drawn, heavy = [], [], set()
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", COLD % (HEAVY,), str(data_dir), repr(time.time())],
            capture_output=True, text=True, env=env, cwd=ROOT, check=True).stdout.split()
        shown.append(float(out[0]))
        drawn.append(float(out[1]))
        heavy.update(m for m in out[2].split(",") if m != "-")
    return {"window_shown_s_median": statistics.median(shown),
            "first_item_drawn_s_median": statistics.median(drawn),
            "heavy_modules_imported": sorted(heavy)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prompts", type=int, default=100_000)
    parser.add_argument("--responses-per-prompt", type=int, default=2)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--cold-runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        data_dir = build_database(Path(tmp) / "data", args.prompts, args.responses_per_prompt)
        print(f"database: {args.prompts:,} prompts, {args.prompts * args.responses_per_prompt:,}"
              f" responses, built in {time.perf_counter() - started:.1f} s")
        cold = measure_cold_start(data_dir, args.cold_runs)
        print(f"cold start: window shown {cold['window_shown_s_median']:.2f} s, first item"
              f" drawn {cold['first_item_drawn_s_median']:.2f} s (target < 1.5 s);"
              f" heavy modules imported: {cold['heavy_modules_imported'] or 'none'}")
        for name, numbers in measure_keys(data_dir, args.presses).items():
            print(f"key -> next item drawn, {name:12s}: p50 {numbers['p50_ms']:5.1f} ms,"
                  f" p95 {numbers['p95_ms']:5.1f} ms, max {numbers['max_ms']:5.1f} ms"
                  f" (target p95 < 30 ms; {numbers['p95_ms'] / 30:.2f}x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
