"""The Train page launching a real tiny run, plotting its events, and cancel/resume."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot
from test_ui_support import context

from backends.lib.train_synthetic import populate
from studio.db.store import Store
from studio.events import read_events
from studio.registry.models import list_models
from studio.training import runs as registry
from ui.context import AppContext
from ui.pages.train_page import TrainPage

__all__ = ["context"]


@pytest.fixture
def page(context: AppContext, store: Store, qtbot: QtBot, demo_model_dir: Path) -> TrainPage:
    populate(store, 24)
    widget = TrainPage(context)
    qtbot.addWidget(widget)
    widget.resize(1300, 850)
    widget.show()
    qtbot.waitUntil(lambda: widget.readiness.rows["dpo"][2].text() != "", timeout=10000)
    widget.model.setCurrentText(str(demo_model_dir))
    yield widget
    widget.shutdown()


def set_field(page: TrainPage, name: str, value: str) -> None:
    editor = page.form.editors[name]
    assert isinstance(editor, QLineEdit)
    editor.setText(value)


def wait_for_exit(pid: int | None, qtbot: QtBot) -> None:
    if pid:
        qtbot.waitUntil(lambda: not psutil.pid_exists(pid), timeout=30000)


def test_launch_plots_live_and_registers_the_adapter(page: TrainPage, qtbot: QtBot,
                                                     store: Store, tmp_path: Path) -> None:
    page.method.setCurrentIndex(1)  # DPO
    for name, value in {"max_steps": "6", "max_length": "64", "eval_steps": "3"}.items():
        set_field(page, name, value)
    page.launch_button.click()
    qtbot.waitUntil(lambda: page.current is not None, timeout=30000)
    run_id = page.current.id
    assert "training needs about" in page.checks_label.text()
    qtbot.waitUntil(lambda: page.current is not None and page.current.status == "completed",
                    timeout=120000)
    assert page.plots.point_count(run_id, "loss") == 6
    assert page.plots.point_count(run_id, "eval_rewards/accuracies") >= 2
    assert page.progress.value() == 6
    assert "finished: adapter" in page.log.toPlainText()
    assert "completed" in page.history.model().index(0, 0).data()
    run = registry.get_run(store, run_id)
    wait_for_exit(run.dir.read_pid(), qtbot)
    assert any(m.run_id == run_id for m in list_models(store, "adapter"))
    assert "speed: precision fp32" in page.log.toPlainText()  # the fast defaults, and why
    assert page.bundle_button.isEnabled()
    with qtbot.waitSignal(page.context.status_message, timeout=30000) as written:
        page.bundle_button.export(tmp_path / "bundle")
    assert "Run bundle written" in written.args[0]
    assert (tmp_path / "bundle" / "launch_torchrun.sh").is_file()


def test_bad_settings_show_a_message_and_launch_nothing(page: TrainPage, store: Store,
                                                        qtbot: QtBot, tmp_path: Path) -> None:
    set_field(page, "batch_size", "many")
    page.launch_button.click()
    assert "Batch size: 'many' is not a number" in page.checks_label.text()
    set_field(page, "batch_size", "4")
    page.model.setCurrentText(str(tmp_path / "missing"))
    page.launch_button.click()
    qtbot.waitUntil(lambda: "does not exist" in page.checks_label.text(), timeout=10000)
    assert registry.list_runs(store) == []


def test_cancel_and_resume_from_the_page(page: TrainPage, qtbot: QtBot, store: Store) -> None:
    page.method.setCurrentIndex(0)  # SFT
    for name, value in {"max_steps": "60", "max_length": "64", "eval_steps": "1000",
                        "save_steps": "1000"}.items():
        set_field(page, name, value)
    page.launch_button.click()
    qtbot.waitUntil(lambda: page.progress.value() >= 2, timeout=60000)
    page.cancel_button.click()
    qtbot.waitUntil(lambda: page.current is not None and page.current.status == "cancelled",
                    timeout=60000)
    assert page.resume_button.isEnabled()
    page.resume_button.click()
    qtbot.waitUntil(lambda: page.current is not None and page.current.status == "completed",
                    timeout=120000)
    assert page.progress.value() == 60
    steps = [e["step"] for e in read_events(page.current.dir.events) if e.event == "step"]
    assert steps == list(range(1, 61))
    assert page.plots.point_count(page.current.id, "loss") == 60
    wait_for_exit(page.current.dir.read_pid(), qtbot)
