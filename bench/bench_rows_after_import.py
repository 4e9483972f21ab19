"""How long the Data page's first rows take to show after a big import through the Import
dialog (a real window: run under Xvfb).

    xvfb-run -a -s "-screen 0 1280x800x24" python bench/bench_rows_after_import.py [--rows N]

Writes N preference rows, previews and imports them with the Import dialog into a fresh data
folder, then shows the Data page and times until its first row holds a prompt (the rows load
on the reader, which also counts readiness for every imported prompt) and until the readiness
panel stops saying it is counting.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _settle(ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=120_000)
    args = parser.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from ui.app import build_window
    from ui.dialogs.import_dialog import ImportDialog

    app = QApplication(sys.argv[:1])
    print(f"# bench_rows_after_import {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# command: python bench/bench_rows_after_import.py {' '.join(argv or sys.argv[1:])}")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "pairs.jsonl"
        source.write_text("".join(json.dumps({
            "prompt": f"Question {i}: name a colour", "chosen": f"red {i}",
            "rejected": f"blue {i}"}) + "\n" for i in range(args.rows)), encoding="utf-8")
        window = build_window(str(Path(tmp) / "data"), str(Path(tmp) / "settings.ini"))
        window.show()
        dialog = ImportDialog(window.context, window)
        dialog.path_edit.setText(str(source))
        dialog.preview_source()
        while not dialog.import_button.isEnabled():
            _settle(100)
        started = time.perf_counter()
        dialog.start_import()
        while "Imported" not in dialog.summary.text():
            _settle(100)
        imported = time.perf_counter() - started
        dialog.close()
        page = window.show_page("Data")
        started = time.perf_counter()
        model = page.table.model()
        while str(model.index(0, 1).data() or "…") == "…":
            _settle(50)
        rows = time.perf_counter() - started
        while not page.readiness.summary.text() or "Counting" in page.readiness.summary.text():
            _settle(100)
        counted = time.perf_counter() - started
        window.close()
        _settle(300)
    print(f"{args.rows:,} pairs imported in {imported:.1f} s; Data page rows after {rows:.1f} s,"
          f" readiness counted after {counted:.1f} s")
    app.quit()


if __name__ == "__main__":
    main()
