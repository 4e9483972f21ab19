"""One human line per training event, shared by the CLI's foreground run and the Train page log."""

from __future__ import annotations

from studio.events import Event


def describe(event: Event) -> str:
    """One human line per event."""
    name = event.event
    if name == "started":
        counts = event.get("counts") or {}
        return (f"started on {event.get('device')} ({event.get('precision')}):"
                f" {counts.get('train')} train / {counts.get('eval')} eval examples,"
                f" {event.get('max_steps')} steps")
    if name in {"step", "eval"}:
        keys = ("loss", "eval_loss", "rewards/accuracies", "eval_rewards/accuracies",
                "learning_rate")
        values = " ".join(f"{k}={event.get(k):.4g}" for k in keys
                          if isinstance(event.get(k), (int, float)))
        return f"{name} {event.get('step')}/{event.get('max_steps')} {values}"
    if name == "checkpoint":
        return f"checkpoint at step {event.get('step')}"
    if name == "finished":
        return f"finished: adapter in {event.get('adapter')} ({event.get('wall_s')} s)"
    if name == "cancelled":
        return f"cancelled at step {event.get('step')}; resume with 'tuning-studio runs --resume'"
    if name == "failed":
        return f"failed: {event.get('message')} (details in {event.get('log')})"
    return f"{name} {event.fields}"
