"""One human line per training event, shared by the CLI's foreground run and the Train page log."""

from __future__ import annotations

from studio.events import Event


def describe(event: Event) -> str:
    """One human line per event."""
    name = event.event
    if name == "started":
        return _started(event)
    if name in {"step", "eval"}:
        keys = ("loss", "eval_loss", "rewards/accuracies", "eval_rewards/accuracies",
                "reward", "reward_std", "learning_rate")
        values = " ".join(f"{k}={event.get(k):.4g}" for k in keys
                          if isinstance(event.get(k), (int, float)))
        line = f"{name} {event.get('step')}/{event.get('max_steps')} {values}"
        if isinstance(event.get("eval_rewards/accuracies"), (int, float)):
            # Ranking held-out pairs is not the behaviour (DPO reached 1.0 on a real model
            # whose answers did not change): say what the number measures.
            line += " (pairs ranked right; check the behaviour with an eval set)"
        return line
    if name == "completions":
        samples = event.get("samples") or []
        return f"sampled answers at step {event.get('step')}: " + " | ".join(
            f"{s.get('completion', '')[:40]!r} {s.get('scores')}" for s in samples[:2])
    if name == "checkpoint":
        return f"checkpoint at step {event.get('step')}"
    if name == "finished":
        note = f"\n  note: {event.get('note')}" if event.get("note") else ""
        return f"finished: adapter in {event.get('adapter')} ({event.get('wall_s')} s){note}"
    if name == "cancelled":
        return f"cancelled at step {event.get('step')}; resume with 'tuning-studio runs --resume'"
    if name == "failed":
        return f"failed: {event.get('message')} (details in {event.get('log')})"
    return f"{name} {event.fields}"


def _started(event: Event) -> str:
    counts = event.get("counts") or {}
    notes = []
    if counts.get("train_dropped"):
        notes.append(f"{counts['train_dropped']} training examples dropped as too long")
    available = counts.get("eval_available") or 0
    if available > (counts.get("eval") or 0):
        notes.append(f"evaluating a sample of {counts.get('eval')} of {available} held out")
    line = (f"started on {event.get('device')} ({event.get('precision')}):"
            f" {counts.get('train')} train / {counts.get('eval')} eval examples,"
            f" {event.get('max_steps')} steps" + "".join(f"; {n}" for n in notes))
    speed = event.get("speed") or {}
    if speed.get("reasons"):
        line += "\n  speed: " + "; ".join(speed["reasons"])
    return line
