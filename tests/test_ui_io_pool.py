"""Issue 12: file-system work runs on the I/O pool, not on the UI thread or the store worker;
the Models page learns there which models' files are gone."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.registry import models
from ui.context import AppContext

__all__ = ["context"]


def test_the_result_comes_back_on_the_ui_thread(context: AppContext, qtbot: QtBot) -> None:
    ran_on: list[str] = []
    delivered_on: list[str] = []

    def work() -> int:
        ran_on.append(threading.current_thread().name)
        return 42

    context.io.run(work, on_success=lambda _: delivered_on.append(
        threading.current_thread().name))
    qtbot.waitUntil(lambda: bool(delivered_on), timeout=5000)
    assert ran_on[0].startswith("io-pool")
    assert delivered_on == [threading.main_thread().name]


def test_a_failure_reaches_on_failure(context: AppContext, qtbot: QtBot) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        raise OSError("disk gone")

    context.io.run(work, on_failure=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert [str(e) for e in errors] == ["disk gone"]


def test_models_page_marks_a_model_whose_folder_is_gone(context: AppContext, qtbot: QtBot,
                                                         store: Store, tmp_path: Path) -> None:
    from ui.pages.models_page import ModelsPage

    folder = tmp_path / "gone-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    models.add_base_model(store, folder, name="soon gone")
    shutil.rmtree(folder)
    page = ModelsPage(context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: len(page.tree.rows()) == 1, timeout=10_000)
    qtbot.waitUntil(lambda: "missing on disk" in (page.tree.rows()[0].tooltip(0) or ""),
                    timeout=10_000)
    page.shutdown()


def test_work_asked_for_after_close_is_dropped(context: AppContext) -> None:
    context.io.shutdown()
    context.io.run(lambda: 1 / 0)  # a late store result asking for a folder check: no error
