"""How long candidate generation will take, from the speed past generate jobs measured.

The round dialog offered "all 1,436 prompts x 4 candidates" (hours on a CPU) with no hint of
the time. Every generate job leaves its progress events in its folder; the time from its
"load" event to its last "generate" progress event over the candidates done is the measured
cost of one candidate, model load included (so the estimate errs long, not short).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from studio.errors import StudioError
from studio.events import Event, read_events


@dataclass(frozen=True)
class Speed:
    seconds_per_candidate: float
    model: str  # the model it was measured on
    candidates: int  # how many candidates the measurement covers


def job_speed(events: list[Event]) -> tuple[float, int] | None:
    """(seconds per candidate, candidates) of one generate job's events, when measurable."""
    load = next((e for e in events if e.event == "progress" and e.get("stage") == "load"), None)
    steps = [e for e in events if e.event == "progress" and e.get("stage") == "generate"]
    done = int(steps[-1].get("done") or 0) if steps else 0
    if load is None or not done or steps[-1].t <= load.t:
        return None
    return (steps[-1].t - load.t) / done, done


def measured_speed(jobs_root: Path, model: str | None = None) -> Speed | None:
    """The newest measured speed: of ``model`` when it has one, else of any model."""
    found: list[tuple[float, Speed]] = []
    for events_path in jobs_root.glob("*/events.jsonl"):
        try:
            speed = job_speed(read_events(events_path))
            config = json.loads((events_path.parent / "config.json").read_text())
            name = str(config.get("model_name") or "?")
        except (OSError, ValueError, StudioError):
            continue  # a job folder being written, or one from an older version
        if speed is not None:
            found.append((events_path.stat().st_mtime, Speed(speed[0], name, speed[1])))
    found.sort(key=lambda item: item[0], reverse=True)
    ranked = [s for _, s in found if s.model == model] or [s for _, s in found]
    return ranked[0] if ranked else None


def duration_text(seconds: float) -> str:
    """A rough duration: "40 s", "12 min", "3 h 10 min"."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def estimate_text(candidates: int, speed: Speed | None) -> str:
    if candidates <= 0:
        return ""
    if speed is None:
        return (f"{candidates:,} candidates. No speed measured yet on this machine: the"
                " progress bar shows the time left once the first ones are written.")
    where = "" if speed.candidates < 1 else f" ({speed.model}, {speed.candidates:,} measured)"
    return (f"{candidates:,} candidates · about"
            f" {duration_text(candidates * speed.seconds_per_candidate)} at"
            f" {speed.seconds_per_candidate:.1f} s per candidate{where}.")
