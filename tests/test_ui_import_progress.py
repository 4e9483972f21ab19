"""The import dialog while an import runs: rows, rows/s and time left as batches are
written, and a cancel half-way through (batches already written) stores nothing."""

from __future__ import annotations

import json
from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import context, seed

from studio.db.store import Store
from studio.errors import ImportCancelledError
from ui.context import AppContext
from ui.dialogs.import_dialog import ImportDialog

__all__ = ["context"]


def _rows(path: Path, count: int) -> Path:
    path.write_text("".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}",
                                        "label": i % 2 == 0}) + "\n" for i in range(count)))
    return path


def _previewed(context: AppContext, source: Path, qtbot: QtBot) -> ImportDialog:
    dialog = ImportDialog(context)
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(source))
    with qtbot.waitSignal(dialog.parsed, timeout=30000):
        dialog.preview_source()
    return dialog


def test_progress_shows_rows_rate_and_time_left(context: AppContext, store: Store,
                                                tmp_path: Path, qtbot: QtBot) -> None:
    dialog = _previewed(context, _rows(tmp_path / "p.jsonl", 5000), qtbot)
    seen: list[tuple[int, int]] = []
    dialog.progressed.connect(lambda done, total: seen.append((done, total)))
    with qtbot.waitSignal(dialog.finished_import, timeout=30000):
        dialog.start_import()
    assert seen[-1] == (5000, 5000)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert len(seen) >= 3  # one per batch
    assert store.counts()["prompts"] == 5000


def test_cancel_after_batches_were_written_stores_nothing(
        context: AppContext, store: Store, tmp_path: Path, qtbot: QtBot) -> None:
    seed(store, prompts=1)
    before = store.counts()
    dialog = _previewed(context, _rows(tmp_path / "big.jsonl", 60000), qtbot)
    with qtbot.waitSignal(dialog.progressed, timeout=30000) as first:
        dialog.start_import()
    assert first.args[0] < 60000
    assert "rows/s" in dialog.summary.text()
    with qtbot.waitSignal(dialog.finished_import, timeout=60000) as done:
        dialog.cancel_or_close()
    assert isinstance(done.args[0], ImportCancelledError)
    assert "Nothing was stored" in dialog.summary.text()
    assert store.counts() == before


def test_the_cli_prints_rows_rate_and_time_left(tmp_path: Path,
                                               capsys: object) -> None:
    from studio.cli.main import main

    assert main(["--data-dir", str(tmp_path / "d"), "import",
                 str(_rows(tmp_path / "p.jsonl", 4100))]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    lines = [line.strip() for line in out.splitlines()]
    assert any(line.startswith("4,100 / 4,100 rows · ") and "rows/s" in line for line in lines)
    assert lines[-1].startswith("imported 4100 rows")


def test_rate_and_time_left() -> None:
    from studio.data.importing.progress import ImportRate

    now = [100.0]
    rate = ImportRate(clock=lambda: now[0])
    rate.update(0, 90_000)
    now[0] += 2.0
    rate.update(20_000, 90_000)
    assert rate.rows_per_s == 10_000
    assert rate.describe() == "20,000 / 90,000 rows · 10,000 rows/s · 7 s left"
    now[0] += 3.0
    rate.update(20_000, 1_220_000)
    assert rate.describe().endswith("· 4,000 rows/s · 5 min 00 s left")
