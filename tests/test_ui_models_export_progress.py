"""Issue 11 item 11: a GGUF export on the Models page shows its step progress and an ETA
(from the export job's progress events), and Cancel is next to them."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.db.store import Store
from studio.events import Event
from studio.registry import models
from ui.context import AppContext
from ui.pages.models_page import ModelsPage

__all__ = ["context"]


def _progress(done: int, total: int, message: str) -> Event:
    return Event("progress", 0.0, fields={"stage": "convert", "done": done, "total": total,
                                          "message": message})


def test_export_progress_has_steps_and_eta(context: AppContext, store: Store, qtbot: QtBot,
                                           demo_model_dir: Path) -> None:
    models.add_base_model(store, demo_model_dir, name="demo base")
    page = ModelsPage(context)
    qtbot.addWidget(page)
    page.show()
    strip = page.export_strip
    assert not strip.bar.isVisible()  # nothing to show before an export
    strip.started("Exporting demo base…")
    page.export_runner.progress.emit(_progress(1, 6, "merging the adapter"))
    page.export_runner.progress.emit(_progress(3, 6, "converting to GGUF (F16)"))
    assert strip.bar.isVisible()
    assert (strip.bar.value(), strip.bar.maximum()) == (3, 6)
    assert "converting to GGUF (F16)" in strip.status.text()
    assert "left" in strip.status.text()  # the ETA, from the pace of the steps so far
    assert strip.cancel_button.isEnabled()
