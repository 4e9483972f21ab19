"""The Train page's "Reinforce with a grader": pickers, a real tiny GRPO run, reward curves
and the sampled-answers table."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot
from test_ui_support import context

from backends.train_synthetic import populate
from studio.labels.store import Store
from studio.training import runs as registry
from studio.training.config import METHODS, ConfigError
from ui.context import AppContext
from ui.pages.train_page import TrainPage
from ui.widgets.grpo_setup import parse_grader_lines

__all__ = ["context"]


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
