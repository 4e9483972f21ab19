"""A label is committed when its key is pressed: kill -9 of the app right after loses nothing.

The app runs in a real child process; it presses U on the Label page, says so the moment the
store worker reports the label written, and is then killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from test_ui_support import seed

from studio.db.store import Store
from studio.paths import DataPaths

CHILD = textwrap.dedent("""
    import sys
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from ui.app import build_window

    window = build_window(sys.argv[1], sys.argv[2])
    window.show()
    page = window.show_page("Label")

    def press(item):
        if item is not None and page.session.current is item:
            QTest.keyClick(page, Qt.Key.Key_U)

    def written(label):
        print(f"written {label.id} {label.response_id}", flush=True)

    page.item_drawn.connect(press)
    page.session.labeled.connect(written)
    if page.session.current is not None:
        press(page.session.current)
    app.exec()
""")


def test_kill_9_right_after_a_label_loses_nothing(data_paths: DataPaths, tmp_path: Path) -> None:
    store = Store.open(data_paths.db)
    seed(store, prompts=3, responses=1)
    store.close()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data_paths.root), str(tmp_path / "settings.ini")],
        stdout=subprocess.PIPE, text=True, env=env, cwd=Path(__file__).resolve().parents[1])
    try:
        assert child.stdout is not None
        lines = []
        for line in child.stdout:
            lines.append(line.split())
            if len(lines) == 3:
                break
        os.kill(child.pid, signal.SIGKILL)  # no shutdown, no flush: a crash
    finally:
        child.kill()
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    store = Store.open(data_paths.db)
    try:
        labels = store.current_labels(kind="thumb")
    finally:
        store.close()
    assert [(str(lab.id), str(lab.response_id), lab.value) for lab in labels] == \
        [(label_id, response_id, "up") for _, label_id, response_id in lines]
