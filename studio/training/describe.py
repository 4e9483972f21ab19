"""One human line per training event, shared by the CLI's foreground run and the Train page log.

Reward accuracy is never shown alone: on SmolLM2-135M a DPO run reached 1.0 on its eval pairs
while 0 of 30 held-out answers changed, so wherever the number appears it says what it
measures and that behaviour is measured by an eval set.
"""

from __future__ import annotations

from typing import Any

from studio.events import Event

REWARD_KEYS = ("rewards/accuracies", "eval_rewards/accuracies")
REWARD_MEANING = ("reward accuracy = share of pairs where the tuned model scores the chosen"
                  " answer above the rejected one more than the base does; it does not show"
                  " that the model now writes such answers")
BEHAVIOUR_HINT = ("measure the behaviour on held-out prompts with an eval set"
                  " ('tuning-studio eval --set NAME --model ID')")


def describe(event: Event) -> str:
    """One human line per event."""
    name = event.event
    if name == "started":
        return _started(event)
    if name in {"step", "eval"}:
        keys = ("loss", "eval_loss", *REWARD_KEYS, "reward", "reward_std", "learning_rate")
        values = " ".join(f"{k}={event.get(k):.4g}" for k in keys
                          if isinstance(event.get(k), (int, float)))
        line = f"{name} {event.get('step')}/{event.get('max_steps')} {values}"
        if any(isinstance(event.get(k), (int, float)) for k in REWARD_KEYS):
            line += " (pairs ranked right, not behaviour; check it with an eval set)"
        if event.get("frac_reward_zero_std") == 1:
            # GRPO: every prompt's answers scored alike, so this step's update was zero.
            line += " (all answers to each prompt scored the same: nothing to learn here)"
        return line
    if name == "completions":
        samples = event.get("samples") or []
        return f"sampled answers at step {event.get('step')}: " + " | ".join(
            f"{s.get('completion', '')[:40]!r} {s.get('scores')}" for s in samples[:2])
    if name == "checkpoint":
        return f"checkpoint at step {event.get('step')}"
    if name == "progress" and event.get("message"):  # e.g. "evaluating 40/91 held-out ..."
        return str(event.get("message"))
    if name == "finished":
        return _finished(event)
    if name == "cancelled":
        return f"cancelled at step {event.get('step')}; resume with 'tuning-studio runs --resume'"
    if name == "failed":
        return f"failed: {event.get('message')} (details in {event.get('log')})"
    return f"{name} {event.fields}"


def reward_caveat(metrics: dict[str, Any]) -> str | None:
    """What a run's reward accuracy means, or None when the run reported none (SFT)."""
    if not any(isinstance(metrics.get(k), (int, float)) for k in REWARD_KEYS):
        return None
    return f"{REWARD_MEANING}; {BEHAVIOUR_HINT}"


def metrics_summary(metrics: dict[str, Any]) -> str:
    """A run's final numbers in one line for run lists; reward accuracy comes with its caveat."""
    keys = ("train_loss", "eval_loss", "eval_rewards/accuracies")
    line = " ".join(f"{k}={metrics[k]:.3g}" for k in keys
                    if isinstance(metrics.get(k), (int, float)))
    if reward_caveat(metrics):
        line += " (reward accuracy ranks pairs; behaviour: run an eval set)"
    return line


def _finished(event: Event) -> str:
    notes = [str(event.get("note"))] if event.get("note") else []
    caveat = reward_caveat(event.get("metrics") or {})
    if caveat and not any("eval set" in note for note in notes):
        notes.append(caveat)
    return (f"finished: adapter in {event.get('adapter')} ({event.get('wall_s')} s)"
            + "".join(f"\n  note: {note}" for note in notes))


def _started(event: Event) -> str:
    counts = event.get("counts") or {}
    notes = []
    if counts.get("train_dropped"):
        notes.append(f"{counts['train_dropped']} training examples dropped: the prompt alone"
                     " fills max_length, so no answer token was left")
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
