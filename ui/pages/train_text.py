"""The Train page's words for a run: its history line, status, ETA and how it ended."""

from __future__ import annotations

from studio.events import Event
from studio.training import runs as registry

STATUS_COLOURS = {"running": "#2563eb", "completed": "#15803d", "failed": "#b91c1c",
                  "cancelled": "#a16207", "queued": "#6b7280"}


def history_text(run: registry.Run) -> str:
    metrics = run.metrics or {}
    accuracy = metrics.get("eval_rewards/accuracies")
    summary = f" · held-out acc {accuracy:.2f}" if isinstance(accuracy, (int, float)) else ""
    loss = metrics.get("eval_loss")
    summary += f" · eval loss {loss:.3f}" if isinstance(loss, (int, float)) else ""
    return f"{run.id} · {run.method.upper()} · {run.status}{summary}"


def status_html(run: registry.Run | None) -> str:
    if run is None:
        return "No run selected"
    colour = STATUS_COLOURS.get(run.status, "#111")
    text = (f"<b>{run.method.upper()} run {run.id}</b> · "
            f"<span style='color:{colour}'>{run.status}</span>")
    if run.error:
        text += f"<br><span style='color:#b91c1c'>{run.error}</span>"
    return text


def ending(event: Event) -> str:
    """The line under the progress bar once a run ended: its speed when it finished."""
    if event.event != "finished":
        return event.event
    rate, wall = event.get("tokens_per_s"), event.get("wall_s")
    parts = ["finished"] + ([f"{rate:,.0f} tokens/s"] if rate else []) + (
        [f"{wall:,.0f} s"] if isinstance(wall, (int, float)) else [])
    return " · ".join(parts)


def eta(times: list[tuple[float, int]], max_steps: int) -> str:
    if len(times) < 2 or max_steps <= 0:
        return ""
    (t0, s0), (t1, s1) = times[0], times[-1]
    if s1 <= s0 or t1 <= t0:
        return ""
    remaining = (max_steps - s1) * (t1 - t0) / (s1 - s0)
    minutes, seconds = divmod(int(remaining), 60)
    return f"ETA {minutes}:{seconds:02d}" if remaining > 0 else "done"
