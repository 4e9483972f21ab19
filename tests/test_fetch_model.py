"""Downloading a hub model: the offline error, progress events and the Train page button."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from test_ui_support import context

from backends.fetch_model import progress_bar_class
from studio.db.store import Store
from studio.events import EventWriter, read_events
from studio.jobs.launch import job_command
from studio.paths import DataPaths
from studio.registry.hub import create_fetch_job, needs_download

__all__ = ["context"]  # the fixture


def test_offline_download_fails_in_plain_words(store: Store, data_paths: DataPaths,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    job = create_fetch_job(data_paths.root / "jobs", "someone/some-model", data_paths.db)
    result = subprocess.run(job_command("fetch_model", job), capture_output=True, text=True,
                            timeout=120, check=False, stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    last = read_events(job / "events.jsonl")[-1]
    assert last.event == "failed"
    assert "cannot download 'someone/some-model'" in last["message"]
    assert "local model folder" in last["message"]
    assert store.db["models"].count == 0


def test_byte_progress_becomes_throttled_mib_events(tmp_path: Path, monkeypatch) -> None:
    import backends.fetch_model as fetch_model

    monkeypatch.setattr(fetch_model, "EMIT_EVERY_S", 0.0)
    events = EventWriter(tmp_path / "events.jsonl")
    bar_class = progress_bar_class(events, total=8 * 2**20)
    bar = bar_class(total=8 * 2**20, unit="B")
    bar.update(3 * 2**20)
    bar.update(5 * 2**20)
    files = bar_class(total=2, unit="it")  # the file-count bar is not byte progress
    files.update(1)
    done = [(e["done"], e["total"]) for e in read_events(tmp_path / "events.jsonl")]
    assert done == [(3, 8), (8, 8)]


def test_needs_download(demo_model_dir: Path) -> None:
    assert needs_download("someone/some-model")
    assert not needs_download(str(demo_model_dir))
    assert not needs_download("not a hub id")


@pytest.fixture
def page(context, qtbot):
    from ui.pages.train_page import TrainPage

    widget = TrainPage(context)
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.shutdown()


def test_train_page_offers_and_reports_a_download(page, qtbot, monkeypatch,
                                                  demo_model_dir: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    page.model.setCurrentText("someone/some-model")
    assert page.download.isVisible()
    with qtbot.waitSignal(page.download.runner.ended, timeout=60_000):
        page.download.button.click()
    assert "not reachable" in page.download.strip.status.text()
    page.model.setCurrentText(str(demo_model_dir))
    assert not page.download.isVisible()
