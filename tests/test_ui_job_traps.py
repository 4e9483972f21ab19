"""Issue 21 section 3, around jobs (real backends on the tiny model): Close on the Generate
dialog asks and never blocks the GUI thread; an export's Cancel always ends with a message,
and a job strip never shows "registering … 25 s left" after the job's outcome; the Eval
column says which engine each score comes from."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.evaluation.report import wilson
from studio.evaluation.summary import Score
from studio.events import Event
from studio.registry import models
from ui.context import AppContext
from ui.dialogs.generate_dialog import GenerateDialog, PromptScope
from ui.item_models.eval_scores import scores_cell
from ui.pages.models_page import ModelsPage
from ui.runners.job_runner import JobRunner, JobStrip

__all__ = ["context"]


def test_close_while_generating_asks_and_never_blocks(
        context: AppContext, store: Store, demo_model_dir: Path, demo_gguf: Path,
        qtbot: QtBot) -> None:
    base = models.add_base_model(store, demo_model_dir, name="demo")
    models.add_gguf(store, demo_gguf, base.id, quant="F16")
    ids = [store.add_prompt(f"Tell a long story number {n}.") for n in range(2)]
    dialog = GenerateDialog(context, [PromptScope("These", lambda _: ids)])
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(dialog.start_button.isEnabled, timeout=5000)
    dialog.n.setValue(8)
    dialog.max_tokens.setValue(64)
    with qtbot.waitSignal(dialog.runner.progress, timeout=60_000,
                          check_params_cb=lambda e: e.get("stage") == "generate"):
        dialog.start_button.click()
    dialog.close_button.click()
    assert dialog.stop_box is not None  # asked, nothing stopped yet
    assert dialog.runner.running
    assert dialog.isVisible()
    dialog.stop_box.button(QMessageBox.StandardButton.No).click()  # "Keep generating"
    assert dialog.runner.running
    assert dialog.isVisible()

    dialog.reject()  # Escape or the window's close box: the same question
    started = time.monotonic()
    with qtbot.waitSignal(dialog.runner.ended, timeout=60_000):
        dialog.stop_box.button(QMessageBox.StandardButton.Yes).click()  # "Stop and close"
        assert time.monotonic() - started < 0.5  # the GUI thread never waits for the job
        assert dialog.isVisible()
        assert "Stopping" in dialog.strip.status.text()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert 1 <= store.counts()["responses"] < 16  # the finished candidates are kept


def test_export_cancel_always_ends_with_a_message(context: AppContext, store: Store,
                                                  demo_model_dir: Path, qtbot: QtBot) -> None:
    entry = models.add_base_model(store, demo_model_dir, name="demo")
    page = ModelsPage(context)
    qtbot.addWidget(page)
    page.show()
    page.export_runner.grace_ms = 1  # a step that does not stop in time is killed
    with qtbot.waitSignal(page.export_runner.ended, timeout=60_000):
        page.start_export(entry, ["Q8_0"])  # the job is written on the store worker
        qtbot.waitUntil(lambda: page.export_runner.running, timeout=60_000)
        page.cancel_button.click()
    assert "Export cancelled" in page.progress.text()
    assert not page.export_strip.bar.isVisible()
    assert models.list_models(store, "gguf") == []  # nothing registered


def test_the_strip_says_the_outcome_as_soon_as_the_job_writes_it(qtbot: QtBot) -> None:
    runner = JobRunner("export")
    strip = JobStrip(runner)
    qtbot.addWidget(strip)
    strip.started("Exporting demo…")
    runner.progress.emit(Event("progress", 0.0, fields={
        "stage": "register", "done": 5, "total": 6, "message": "registering the models",
        "eta_s": 25}))
    assert "25 s left" in strip.status.text()
    runner.event.emit(Event("finished", 1.0))  # the process may take a moment to exit
    assert "left" not in strip.status.text()
    assert not strip.cancel_button.isEnabled()


def test_the_eval_column_names_the_engine() -> None:
    def score(engine: str | None, passed: int) -> Score:
        return Score("arith", "m", 1, engine, wilson(passed, 30))

    assert scores_cell([score("llama.cpp", 7)]) == "arith 23% (llama.cpp)"
    assert scores_cell([score("transformers", 8)]) == "arith 27% (transformers)"
    assert scores_cell([score(None, 8)]) == "arith 27%"  # runs from before engines were kept
