"""The Data page, its paged table, and the import / export / prompt dialogs."""

from __future__ import annotations

import json
from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import context, seed

from studio.data.importing.importer import ImportReport
from studio.db.store import Store
from studio.errors import ImportCancelledError
from ui.changes import Changes
from ui.context import AppContext
from ui.dialogs.export_dialog import ExportDialog
from ui.dialogs.import_dialog import ImportDialog
from ui.dialogs.prompt_dialog import PromptDialog
from ui.item_models.prompt_table import PAGE, PromptTableModel
from ui.pages.data_page import DataPage

__all__ = ["context"]


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r) if not isinstance(r, str) else r for r in rows)
                    + "\n")
    return path


def test_table_model_pages_rows_on_demand(context: AppContext, store: Store,
                                          qtbot: QtBot) -> None:
    with store.atomic():
        for i in range(PAGE * 3):
            store.add_prompt(f"prompt {i}")
    model = PromptTableModel(context.ops)
    with qtbot.waitSignal(model.loaded, timeout=5000):
        model.reload()
    assert model.rowCount() == PAGE * 3
    far = model.index(PAGE * 2 + 5, 1)
    assert model.data(far) == "…"  # not loaded yet: asked for in the background
    with qtbot.waitSignal(model.loaded, timeout=5000):
        pass
    assert model.data(far) == f"prompt {PAGE * 2 + 5}"
    assert len(model._pages) == 1


def test_data_page_filters(context: AppContext, store: Store, qtbot: QtBot) -> None:
    seed(store, prompts=3, tag="general")
    seed(store, prompts=2, tag="coding")
    page = DataPage(context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.model.rowCount() == 5, timeout=5000)
    qtbot.waitUntil(lambda: page.boxes["tag"].findText("coding") >= 0, timeout=5000)
    page.boxes["tag"].setCurrentText("coding")
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=5000)
    page.search.setText("question 1")
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=5000)
    page.boxes["labeled"].setCurrentText("labeled")
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=5000)


def test_import_preview_shows_format_rows_and_mapping(context: AppContext, tmp_path: Path,
                                                      qtbot: QtBot) -> None:
    source = _jsonl(tmp_path / "prefs.jsonl", [
        {"prompt": "Hi?", "chosen": "Hello!", "rejected": "go away"},
        {"prompt": "2+2?", "chosen": "4", "rejected": "5"},
    ])
    dialog = ImportDialog(context)
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(source))
    with qtbot.waitSignal(dialog.parsed, timeout=5000):
        dialog.preview_source()
    assert "2 rows" in dialog.summary.text()
    assert "DPO" in dialog.summary.text()
    assert dialog.preview.rowCount() == 2
    assert dialog.preview.item(0, 3).text() == "pair: chosen > rejected (DPO)"
    assert dialog.import_button.isEnabled()
    assert not dialog.problems.isVisible()


def test_import_errors_name_rows_and_block_the_import(context: AppContext, tmp_path: Path,
                                                      qtbot: QtBot) -> None:
    source = _jsonl(tmp_path / "bad.jsonl", [
        {"prompt": "fine"}, "{not json", {"prompt": "also fine"}])
    dialog = ImportDialog(context)
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(source))
    with qtbot.waitSignal(dialog.parsed, timeout=5000):
        dialog.preview_source()
    problems = [dialog.problems.item(i).text() for i in range(dialog.problems.count())]
    assert any("line 2" in p and "invalid JSON" in p for p in problems)
    assert not dialog.import_button.isEnabled()


def test_import_runs_in_background_and_announces(context: AppContext, store: Store,
                                                 tmp_path: Path, qtbot: QtBot) -> None:
    source = _jsonl(tmp_path / "p.jsonl", [{"prompt": f"q{i}", "completion": f"a{i}"}
                                           for i in range(20)])
    dialog = ImportDialog(context)
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(source))
    with qtbot.waitSignal(dialog.parsed, timeout=5000):
        dialog.preview_source()
    with qtbot.waitSignal(context.changed, timeout=5000), \
            qtbot.waitSignal(dialog.finished_import, timeout=5000) as done:
        dialog.start_import()
    assert isinstance(done.args[0], ImportReport)
    assert store.counts()["prompts"] == 20
    assert "20 new prompts" in dialog.summary.text()


def test_cancel_leaves_the_database_unchanged(context: AppContext, store: Store,
                                              tmp_path: Path, qtbot: QtBot) -> None:
    seed(store, prompts=1)
    before = store.counts()
    source = _jsonl(tmp_path / "big.jsonl", [{"prompt": f"q{i}", "completion": f"a{i}"}
                                             for i in range(12000)])
    dialog = ImportDialog(context)
    qtbot.addWidget(dialog)
    dialog.path_edit.setText(str(source))
    with qtbot.waitSignal(dialog.parsed, timeout=20000):
        dialog.preview_source()
    with qtbot.waitSignal(dialog.finished_import, timeout=20000) as done:
        dialog.start_import()
        dialog.cancel_or_close()
    assert isinstance(done.args[0], ImportCancelledError)
    assert "Nothing was stored" in dialog.summary.text()
    assert store.counts() == before


def test_export_dialog_writes_a_snapshot(context: AppContext, store: Store, tmp_path: Path,
                                         qtbot: QtBot) -> None:
    seed(store, prompts=3, responses=1)
    for response_id in (1, 2, 3):
        store.label_thumb(response_id, "up", "ana")
    dialog = ExportDialog(context)
    qtbot.addWidget(dialog)
    dialog.folder.setText(str(tmp_path / "snap"))
    with qtbot.waitSignal(dialog.exported, timeout=5000):
        dialog.export()
    assert (tmp_path / "snap" / "manifest.json").exists()
    assert "3 train" in dialog.result.text() or "train" in dialog.result.text()


def test_export_of_nothing_says_why(context: AppContext, tmp_path: Path, qtbot: QtBot) -> None:
    dialog = ExportDialog(context)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.exported, timeout=5000):
        dialog.export()
    assert "no SFT examples" in dialog.result.text()


def test_new_prompt_by_hand(context: AppContext, store: Store, qtbot: QtBot) -> None:
    dialog = PromptDialog(context, None)
    qtbot.addWidget(dialog)
    dialog.text.setPlainText("Explain recursion to a child.")
    dialog.tags.setText("teaching, kids")
    with qtbot.waitSignal(context.changed, timeout=5000):
        dialog.save()
    [prompt] = [store.prompt(1)]
    assert prompt.text == "Explain recursion to a child."
    assert prompt.tags == ["teaching", "kids"]


def test_starter_prompts_and_demo_responses_make_every_mode_labelable(
        context: AppContext, store: Store, qtbot: QtBot) -> None:
    from studio.labels.queue import LabelQueue
    from ui.starter import add_starter_prompts

    with qtbot.waitSignal(context.changed, timeout=10000), \
            qtbot.waitSignal(context.status_message, timeout=10000,
                             check_params_cb=lambda m: "demo responses" in m):
        add_starter_prompts(context, with_demo_responses=True)
    counts = store.counts()
    assert counts["prompts"] == 150
    assert counts["responses"] >= 30
    for mode in ("thumb", "pair", "edit"):
        assert LabelQueue(store, "ana", mode).next() is not None


def test_debounce_timers_that_fire_after_the_window_closed_do_nothing(
        context: AppContext, store: Store, qtbot: QtBot) -> None:
    """A data change arms the readiness and search timers; the window may close before they
    fire (or a test ends), and then they must not queue work on the stopped store worker."""
    page = DataPage(context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.model.rowCount() == 0, timeout=5000)
    page.search.setText("late")  # arms the search timer
    context.announce(Changes(prompts=True))  # arms the readiness timer
    context.close()
    with qtbot.waitSignals([page._readiness_timer.timeout, page._search_timer.timeout],
                           timeout=5000):
        pass  # pytest-qt fails the test if a slot raises ("the store worker has stopped")
