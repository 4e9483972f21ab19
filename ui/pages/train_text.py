"""The Train page's words for a run's status (the history line is the run list's own,
``ui.item_models.run_list``; the live line under the progress bar is ``ui.widgets.run_speed``)."""

from __future__ import annotations

from studio.app.runs import Run
from studio.events import Event

ENDED_AS = {"finished": "completed", "failed": "failed", "cancelled": "cancelled"}
STATUS_COLOURS = {"running": "#2563eb", "completed": "#15803d", "failed": "#b91c1c",
                  "cancelled": "#a16207", "queued": "#6b7280"}


def status_html(run: Run | None, ended: Event | None = None) -> str:
    """The run's status line; ``ended`` (its terminal event, when the page has seen one) wins
    over a row that still says "running": the training process updates its row a moment after
    writing the event, and the page should not say "running" meanwhile."""
    if run is None:
        return "No run selected"
    status = run.status
    if status == "running" and ended is not None:
        status = ENDED_AS.get(ended.event, status)
    colour = STATUS_COLOURS.get(status, "#111")
    text = (f"<b>{run.method.upper()} run {run.id}</b> · "
            f"<span style='color:{colour}'>{status}</span>")
    if run.error:
        text += f"<br><span style='color:#b91c1c'>{run.error}</span>"
    return text
