"""The Compare page with two real chat workers on the tiny model's GGUFs (pytest-qt)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_export_helpers import shared_exports

from studio.db.store import Store
from studio.paths import DataPaths
from studio.registry import models

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
        # Base vs tuned is the default pair: no picking needed.
        assert [p.currentText() for p in page.pickers] == ["base F16", "tuned Q4_K_M"]
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
    from ui.widgets.chat_pane import ChatPaneWidget

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


def test_default_pair_is_base_then_newest_tuned(
    qtbot, context, store: Store, demo_model_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    from studio.rounds.votes import compare_targets
    from ui.context import Changes
    from ui.pages.compare_page import ComparePage

    exports = shared_exports(tmp_path_factory, demo_model_dir)
    assert compare_targets(store) == ([], None)
    base = models.add_base_model(store, demo_model_dir)
    models.add_gguf(store, exports["tuned_q8"], base.id, "Q8_0", name="base Q8_0")
    models.add_gguf(store, exports["base"], base.id, "F16", name="base F16")
    targets, pair = compare_targets(store)
    assert pair is None  # nothing tuned yet: the pickers fall back to the first two
    adapter = models.add_adapter(store, exports["adapter"], base.id, name="tuned")
    models.add_gguf(store, exports["tuned_q4"], adapter.id, "Q4_K_M", name="tuned Q4_K_M",
                    meta={"role": "model"})
    targets, pair = compare_targets(store)
    assert pair is not None
    assert [targets[i][0] for i in pair] == ["base F16", "tuned Q4_K_M"]  # F16 before Q8_0
    page = ComparePage(context)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.pickers[1].currentText() == "tuned Q4_K_M", timeout=10_000)
    assert page.pickers[0].currentText() == "base F16"
    # A newer tuned model (base + adapter-only GGUF) becomes the default of Model 2.
    models.add_gguf(store, exports["lora"], adapter.id, "F16", name="tuned LoRA")
    context.announce(Changes(models=True))
    qtbot.waitUntil(lambda: page.pickers[1].currentText() == "base F16 + tuned LoRA",
                    timeout=10_000)
    assert page.pickers[0].currentText() == "base F16"
    page.shutdown()


def test_burst_reply_shows_an_honest_rate(qtbot) -> None:
    from ui.widgets.chat_pane import ChatPaneWidget, speed_text

    # What an older worker sent for a reply that came in one burst after a long wait.
    burst = {"tokens": 2, "ttft_s": 8.39, "tokens_per_s": 27848.6, "wall_s": 8.39}
    assert speed_text(burst) == "0.2 tok/s overall"
    assert speed_text({**burst, "decode_s": 0.00004, "rate_kind": "decode"}, 8.5) == (
        "0.2 tok/s overall")
    steady = {"tokens": 21, "decode_s": 1.0, "tokens_per_s": 20.0, "rate_kind": "decode"}
    assert speed_text(steady) == "20.0 tok/s"
    assert speed_text({"tokens": 0}) == "n/a tok/s"
    pane = ChatPaneWidget("A")
    qtbot.addWidget(pane)
    pane.busy = True
    pane._on_done({**burst, "text": "Hi"})
    assert "27848" not in pane.status.text()
    assert "TTFT 8.39 s · 0.2 tok/s overall · 2 tokens" in pane.status.text()
    pane.runner.shutdown()
