"""The Compare page with two real chat workers on the tiny model's GGUFs (pytest-qt)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_export_helpers import shared_exports

from studio import models
from studio.paths import DataPaths
from studio.store import Store

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def context(qtbot, store: Store, data_paths: DataPaths, tmp_path: Path):
    # ``store`` first: it creates and migrates the database before the UI's worker opens it.
    from ui.context import AppContext

    ctx = AppContext(data_paths, settings_path=tmp_path / "settings.ini")
    ctx.set_annotator("tester")
    yield ctx
    ctx.close()


def _register(store: Store, exports: dict[str, Path], demo_model_dir: Path) -> None:
    base = models.add_base_model(store, demo_model_dir)
    models.add_gguf(store, exports["base"], base.id, "F16", name="base F16")
    adapter = models.add_adapter(store, exports["adapter"], base.id, name="tuned")
    models.add_gguf(store, exports["tuned_q4"], adapter.id, "Q4_K_M", name="tuned Q4_K_M",
                    meta={"role": "model"})


def test_blind_compare_streams_both_and_stores_the_vote(
    qtbot, context, store: Store, demo_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
) -> None:
    from ui.pages.compare_page import ComparePage

    _register(store, shared_exports(tmp_path_factory, demo_model_dir), demo_model_dir)
    page = ComparePage(context)
    qtbot.addWidget(page)
    page.resize(1200, 760)
    page.show()
    try:
        qtbot.waitUntil(lambda: len(page.targets) >= 2, timeout=10_000)
        page.pickers[0].setCurrentText("base F16")
        page.pickers[1].setCurrentText("tuned Q4_K_M")
        page.max_tokens.setValue(24)
        with qtbot.waitSignals([p.runner.loaded for p in page.panes], timeout=30_000):
            page.new_chat()
        assert all("hidden" in p.header.text() for p in page.panes)
        page.input.setPlainText("Tell me about the sea.")
        with qtbot.waitSignals([p.runner.done for p in page.panes], timeout=30_000):
            page.send()
        assert all(p.reply for p in page.panes)
        assert all("TTFT" in p.status.text() and "tok/s" in p.status.text()
                   for p in page.panes)
        assert page.vote_buttons["a"].isEnabled()
        page.grab().save(str(tmp_path / "compare-before-vote.png"))
        left_name = page.panes[0].target[0]
        page.vote("a")
        qtbot.waitUntil(lambda: page.voted, timeout=10_000)
        qtbot.waitUntil(lambda: "win" in page.winrate.text(), timeout=10_000)
        assert all("hidden" not in p.header.text() for p in page.panes)
        page.grab().save(str(tmp_path / "compare-after-vote.png"))
        (label,) = store.current_labels(kind="pair")
        chosen, _ = label.chosen_rejected  # type: ignore[misc]
        assert store.response(chosen).model == left_name
        assert label.source == "compare"
        assert page.history[-1]["role"] == "assistant"  # the winner continues the chat
        # A second turn, multi-turn history included, then a stop.
        page.input.setPlainText("And the sky?")
        with qtbot.waitSignals([p.runner.done for p in page.panes], timeout=30_000):
            page.send()
        assert len(page.history) == 3
    finally:
        page.shutdown()


def test_crashed_worker_is_reported_and_page_stays_up(
    qtbot, context, store: Store, demo_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path,
) -> None:
    from ui.pages.compare_page import ChatPaneWidget

    pane = ChatPaneWidget("A")
    qtbot.addWidget(pane)
    try:
        bad = tmp_path / "bad.gguf"
        bad.write_text("not a model")
        with qtbot.waitSignal(pane.runner.error, timeout=30_000):
            pane.load(("bad", str(bad), None), blind=False)
        assert "not a GGUF file" in pane.status.text()
        exports = shared_exports(tmp_path_factory, demo_model_dir)
        with qtbot.waitSignal(pane.runner.loaded, timeout=30_000):
            pane.load(("base", str(exports["base"]), None), blind=False)
        with qtbot.waitSignal(pane.runner.crashed, timeout=30_000):
            pane.runner.process.kill()  # what a segfault in llama.cpp looks like from here
        assert "crashed" in pane.status.text()
        with qtbot.waitSignal(pane.runner.loaded, timeout=30_000):  # picking again restarts it
            pane.load(("base", str(exports["base"]), None), blind=False)
    finally:
        pane.runner.shutdown()
