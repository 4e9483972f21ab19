"""The Train page's "Reinforce with a grader": pickers, the base-model probe, a real tiny GRPO
run, reward curves and the sampled-answers table."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot
from test_ui_support import context

from backends.lib.train_synthetic import populate
from studio.db.store import Store
from studio.training import runs as registry
from studio.training.config import METHODS, ConfigError
from ui.context import AppContext
from ui.pages.train_page import TrainPage
from ui.widgets.grpo_setup import parse_grader_lines

__all__ = ["context"]

# The tiny random model never writes this in 8 tokens: a 0% pass rate, "no signal".
NEVER = "contains:the capital of France is Paris"


@pytest.fixture
def page(context: AppContext, store: Store, qtbot: QtBot, demo_model_dir: Path) -> TrainPage:
    populate(store, 8)
    widget = TrainPage(context)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.setup.grpo.prompts.count() > 1, timeout=10000)
    widget.model.setCurrentText(str(demo_model_dir))
    yield widget
    widget.shutdown()


def test_grader_lines_take_optional_weights() -> None:
    assert parse_grader_lines("numeric\n\ncontains:A|B\n") == (["numeric", "contains:A|B"],
                                                               None)
    assert parse_grader_lines("numeric\n0.5 words:1-3") == (["numeric", "words:1-3"],
                                                            [1.0, 0.5])
    with pytest.raises(ConfigError, match="no grader spec"):
        parse_grader_lines("2")


def test_reinforce_with_a_grader_runs_and_shows_rewards(page: TrainPage, qtbot: QtBot,
                                                        store: Store) -> None:
    assert not page.setup.grpo.isVisibleTo(page)
    page.method.setCurrentIndex(METHODS.index("grpo"))
    assert page.method.currentText() == "Reinforce with a grader (GRPO)"
    assert page.setup.grpo.isVisibleTo(page)
    choices = [page.setup.grpo.prompts.itemText(i)
               for i in range(page.setup.grpo.prompts.count())]
    assert choices == ["all", "synthetic"]
    page.setup.grpo.graders.setPlainText("regex:o\n0.5 words:1-3")
    page.setup.grpo.prompts.setCurrentText("synthetic")
    for name, value in {"max_steps": "2", "batch_size": "2", "num_generations": "2",
                        "max_completion_length": "8", "completions_every": "1"}.items():
        editor = page.form.editors[name]
        assert isinstance(editor, QLineEdit)
        editor.setText(value)
    assert "graders" not in page.form.editors  # the picker owns them
    page.launch_button.click()
    qtbot.waitUntil(lambda: page.current is not None, timeout=30000)
    run_id = page.current.id
    assert page.current.config["graders"] == ["regex:o", "words:1-3"]
    assert page.current.config["reward_weights"] == [1.0, 0.5]
    qtbot.waitUntil(lambda: page.current is not None and page.current.status == "completed",
                    timeout=180000)
    qtbot.waitUntil(lambda: page.plots.point_count(run_id, "reward") == 2, timeout=10000)
    assert page.plots.point_count(run_id, "reward_std") == 2
    assert page.runs.completions.isVisibleTo(page)
    assert page.runs.completions.rowCount() >= 2
    assert "regex:o" in page.runs.completions.item(0, 3).text()
    pid = registry.get_run(store, run_id).dir.read_pid()
    if pid:
        qtbot.waitUntil(lambda: not psutil.pid_exists(pid), timeout=30000)


def choose_grpo(page: TrainPage, graders: str) -> None:
    """GRPO on the synthetic prompts with small sampling (2 answers of 8 tokens)."""
    page.method.setCurrentIndex(METHODS.index("grpo"))
    page.setup.grpo.graders.setPlainText(graders)
    page.setup.grpo.prompts.setCurrentText("synthetic")
    for name, value in {"num_generations": "2", "max_completion_length": "8"}.items():
        editor = page.form.editors[name]
        assert isinstance(editor, QLineEdit)
        editor.setText(value)


def test_probe_shows_the_base_pass_rate_before_launch(page: TrainPage, qtbot: QtBot) -> None:
    assert not page.probe.isVisibleTo(page)  # SFT: nothing to probe
    choose_grpo(page, NEVER)
    assert page.probe.isVisibleTo(page)
    with qtbot.waitSignal(page.probe.outcome, timeout=180000):
        page.probe.button.click()
        qtbot.waitUntil(lambda: page.probe.runner.running, timeout=30000)
        # The job needs seconds of imports before its first progress event replaces this.
        assert page.probe.strip.status.text() == "Sampling 6 prompts with the base model…"
        assert not page.probe.button.isEnabled()
        assert page.launch_button.isEnabled()  # the probe never blocks a launch
    text = page.checks_label.text()
    assert "the base model passes 0% of 12 sampled answers" in text  # 6 prompts x 2
    assert "no signal for RL to learn from" in text
    assert "Train SFT on a few good answers first" in text
    assert page.probe.strip.status.text().startswith("Sampled 6 prompts in")
    assert page.probe.button.isEnabled()
    page.refresh(full=True)  # refilling the model and prompt boxes keeps the result
    qtbot.waitUntil(lambda: not page.context.ops.busy, timeout=10000)
    QApplication.processEvents()
    assert "passes 0%" in page.checks_label.text()
    page.setup.grpo.graders.setPlainText("regex:o")  # another grader: the result is stale
    qtbot.waitUntil(lambda: "passes 0%" not in page.checks_label.text(), timeout=5000)


def test_probe_can_be_cancelled(page: TrainPage, qtbot: QtBot) -> None:
    choose_grpo(page, NEVER)
    page.probe.button.click()
    qtbot.waitUntil(lambda: page.probe.runner.running, timeout=30000)
    with qtbot.waitSignal(page.probe.runner.ended, timeout=60000):
        page.probe.strip.cancel_button.click()
    assert not page.probe.runner.running
    assert page.probe.strip.status.text() == "Probe cancelled: nothing was measured."
    assert "passes" not in page.checks_label.text()
    assert page.probe.button.isEnabled()


def test_probe_of_a_missing_model_says_so_without_a_job(page: TrainPage, qtbot: QtBot,
                                                        tmp_path: Path) -> None:
    choose_grpo(page, NEVER)
    page.model.setCurrentText(str(tmp_path / "no-such-model"))
    with qtbot.waitSignal(page.probe.outcome, timeout=10000):
        page.probe.button.click()
    assert not page.probe.runner.running
    assert "no-such-model does not exist" in page.checks_label.text()
