"""Start-up stays light: the window shows before heavy modules, other pages and store work.

The timing itself is a benchmark (``bench/bench_startup.py``); these tests hold what makes
it fast: what the GUI process has imported when its window first shows (checked in a fresh
child process through the real entry point), pages built on first open, and store work held
until the window has painted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import seed

from studio.db.store import Store
from studio.paths import DataPaths
from ui.app import build_window
from ui.context import AppContext
from ui.main_window import FIRST_PAGE, PAGES, MainWindow

ROOT = Path(__file__).resolve().parents[1]
# Not needed to show the window; each costs 0.1-2 s to import on two cores.
NOT_BEFORE_SHOW = ("numpy", "pandas", "pyarrow", "pyqtgraph", "gguf", "jsonschema", "torch",
                   "transformers", "trl", "peft", "datasets", "accelerate", "llama_cpp",
                   "huggingface_hub", "sentencepiece", "safetensors", "tokenizers")

CHILD = textwrap.dedent("""
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(sys.argv[:1])

    def report():
        # Queued before the entry point runs: fires on the event loop's first turn, after
        # window.show() and before anything the window queued for later.
        window = next(w for w in app.topLevelWidgets()
                      if isinstance(w, QMainWindow) and w.isVisible())
        print(json.dumps({"modules": sorted(sys.modules), "pages": sorted(window.pages)}),
              flush=True)
        window.close()

    QTimer.singleShot(0, report)
    from ui.launcher import main
    sys.exit(main(["--data-dir", sys.argv[1]]))
""")


def test_the_window_shows_before_heavy_modules_and_other_pages(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           "TUNING_STUDIO_SETTINGS": str(tmp_path / "settings.ini")}
    done = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "data")], env=env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    modules = set(shown["modules"])
    imported = sorted(m for m in NOT_BEFORE_SHOW if m in modules)
    assert imported == [], f"imported before the window showed: {imported}"
    assert shown["pages"] == [FIRST_PAGE]
    other_pages = {spec.rpartition(".")[0] for name, spec in PAGES.items() if name != FIRST_PAGE}
    assert not other_pages & modules, f"page modules imported early: {other_pages & modules}"


def test_pages_are_built_on_first_open(data_paths: DataPaths, store: Store, tmp_path: Path,
                                       qtbot: QtBot) -> None:
    window = MainWindow(AppContext(data_paths, tmp_path / "s.ini"))
    qtbot.addWidget(window)
    assert list(window.pages) == [FIRST_PAGE]
    models = window.page("Models")  # built, not shown
    assert window.current_page_name() == FIRST_PAGE
    assert window.stack.currentWidget() is window.pages[FIRST_PAGE]
    assert window.show_page("Models") is models
    window.close()


def test_store_work_waits_for_the_first_paint(data_paths: DataPaths, store: Store,
                                              tmp_path: Path, qtbot: QtBot) -> None:
    seed(store, prompts=2, responses=1)
    window = build_window(str(data_paths.root), str(tmp_path / "s.ini"),
                          defer_store_work=True)
    qtbot.addWidget(window)
    ran = threading.Event()
    window.context.ops.run(lambda _store: ran.set())
    assert not ran.wait(0.3), "store work ran before the window painted"
    assert window.counts_label.text() == ""
    window.show()
    qtbot.waitUntil(lambda: "2 prompts" in window.counts_label.text(), timeout=10_000)
    assert ran.is_set()
    label = window.pages["Label"]
    qtbot.waitUntil(lambda: label.session.current is not None, timeout=10_000)
    window.close()


def test_a_held_worker_still_shuts_down(data_paths: DataPaths, store: Store,
                                        tmp_path: Path, qtbot: QtBot) -> None:
    context = AppContext(data_paths, tmp_path / "s.ini", hold_store_work=True)
    ran = threading.Event()
    context.ops.run(lambda _store: ran.set())
    context.close()  # releases: queued work finishes, the thread ends
    assert ran.is_set()
    assert not context.ops._thread.is_alive()
