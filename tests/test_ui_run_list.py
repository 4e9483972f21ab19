"""Issue 12: the run history is a RunListModel over typed records in a list view; the
selection survives refreshes and new runs, and Resume reads the record, not the disk."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.training.runs import Run
from ui.context import AppContext
from ui.item_models.run_list import RUN_ID_ROLE, RunRow
from ui.pages.train_runs import RunPanel

__all__ = ["context"]


def run(tmp_path: Path, run_id: str, status: str) -> Run:
    # No folder on disk at all: nothing the panel shows may need one.
    return Run(id=run_id, method="sft", status=status, config={},
               run_dir=tmp_path / "absent" / run_id)


def test_selection_survives_refreshes_and_new_runs(qtbot: QtBot, context: AppContext,
                                                    tmp_path: Path) -> None:
    panel = RunPanel(context)
    qtbot.addWidget(panel)
    older = RunRow(run(tmp_path, "b", "completed"))
    newer = RunRow(run(tmp_path, "a", "cancelled"), offers_resume=True)
    panel.fill_history([newer, older], select="b")
    assert panel.current is not None
    assert panel.current.id == "b"
    assert not panel.resume_button.isEnabled()
    # The same runs re-read: updated in place, the selection stays.
    panel.fill_history([newer, RunRow(run(tmp_path, "b", "failed"))], select=None)
    model = panel.history.model()
    assert "failed" in model.index(1, 0).data()
    assert panel.current is not None
    assert panel.current.status == "failed"
    # A new run on top resets the rows; the selected run is selected again by id.
    panel.fill_history([RunRow(run(tmp_path, "c", "queued")), newer,
                        RunRow(run(tmp_path, "b", "failed"))], select=None)
    assert [model.index(i, 0).data(RUN_ID_ROLE) for i in range(3)] == ["c", "a", "b"]
    assert panel._selected_ids() == ["b"]
    # Resume follows the record's flag (read on the store worker).
    panel.history.clearSelection()
    panel.fill_history([newer], select="a")
    assert panel.current is not None
    assert panel.current.id == "a"
    assert panel.resume_button.isEnabled()
    panel.stop_following()
