"""The JSON-lines event protocol spoken by every backend process (train, export, chat, generate).

One event per line, UTF-8, ``\\n``-terminated. Every line is a JSON object with:

- ``v``: protocol version, an int (currently ``1``). A reader refuses versions newer than its own.
- ``t``: wall-clock time the event was written, Unix epoch seconds (float).
- ``event``: the event name, one of :data:`EVENTS`.
- any further fields of that event, flat in the same object (no nesting under ``data``).

Non-finite floats (NaN, inf: a diverging loss) are written as ``null`` so every line is strict JSON.

Events and their usual fields (readers must tolerate missing optional fields and extra fields):

Every job appends to its job folder's ``events.jsonl`` only (``studio.jobs.launch``); the chat
worker alone answers on stdout.

Training (``backends.train``, appended to ``<run>/events.jsonl``)
  ``started``     config (resolved dict), device, precision, counts {"train", "eval"}, max_steps,
                  resumed_from (checkpoint step or null)
  ``step``        step, max_steps, epoch, loss, learning_rate, grad_norm; DPO/KTO also rewards
                  keys such as ``rewards/chosen``, ``rewards/rejected``, ``rewards/margins``,
                  ``rewards/accuracies`` (names as TRL logs them)
  ``eval``        step, eval_loss, and for DPO/KTO ``eval_rewards/accuracies`` etc.
  ``checkpoint``  step, path
  ``finished``    adapter (path), metrics (final dict), wall_s, tokens_per_s, step
  ``failed``      message (short, human), log (path of the log holding the traceback)
  ``cancelled``   step, checkpoint (path or null): the run can be resumed from it

Export and generation (``backends.export``, ``backends.generate``)
  ``progress``    stage, message, and optionally done/total (counts) or fraction
  ``finished``    outputs and whatever the job produced
  ``failed``      message, log

Chat (``backends.chat``, on stdout)
  ``loaded``      model, n_ctx and any metadata
  ``token``       text (a piece of the reply), id (request id)
  ``done``        id, text (the full reply), tokens, ttft_s, decode_s, wall_s, tokens_per_s,
                  rate_kind ("decode" when measurable, else "overall": tokens / wall_s), stopped
  ``error``       message, id (if the error belongs to a request)

Writers use :class:`EventWriter`; readers use :func:`parse_line`, :func:`read_events` or an
:class:`EventTail`, which reads a growing file incrementally and holds back a partial last line.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from studio.errors import StudioError

PROTOCOL_VERSION = 1

TRAIN_EVENTS = ("started", "step", "eval", "checkpoint", "finished", "failed", "cancelled",
                "completions")  # completions: GRPO's sampled answers and their scores
JOB_EVENTS = ("progress", "finished", "failed")
CHAT_EVENTS = ("loaded", "token", "done", "error")
EVENTS: frozenset[str] = frozenset((*TRAIN_EVENTS, *JOB_EVENTS, *CHAT_EVENTS))
# The events after which a process has nothing more to say.
TERMINAL_EVENTS: frozenset[str] = frozenset({"finished", "failed", "cancelled"})
_RESERVED = frozenset({"v", "t", "event"})
_NEEDS_MESSAGE = frozenset({"failed", "error"})


class EventFormatError(StudioError):
    """A line that is not a valid event of this protocol."""


@dataclass(frozen=True)
class Event:
    """One parsed event: its name, time, version and the remaining fields."""

    event: str
    t: float
    v: int = PROTOCOL_VERSION
    fields: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    @property
    def is_terminal(self) -> bool:
        return self.event in TERMINAL_EVENTS

    def as_dict(self) -> dict[str, Any]:
        return {"v": self.v, "t": self.t, "event": self.event, **self.fields}


def _finite(value: Any) -> Any:
    """Replace non-finite floats (anywhere in the value) by None, so the line is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def make_event(event: str, **fields: Any) -> dict[str, Any]:
    """The dict of one event, validated and stamped with version and time."""
    if event not in EVENTS:
        raise EventFormatError(f"unknown event '{event}' (known: {', '.join(sorted(EVENTS))})")
    clash = _RESERVED & fields.keys()
    if clash:
        raise EventFormatError(f"event fields may not be named {sorted(clash)}")
    if event in _NEEDS_MESSAGE and not fields.get("message"):
        raise EventFormatError(f"a '{event}' event needs a human 'message'")
    return {"v": PROTOCOL_VERSION, "t": round(time.time(), 3), "event": event,
            **_finite(fields)}


def encode(event: str, **fields: Any) -> str:
    """One event as a JSON line (with the trailing newline)."""
    return json.dumps(make_event(event, **fields), ensure_ascii=False, default=str) + "\n"


class EventWriter:
    """Appends events to a file (flushed per line, so tailers see them at once) and/or a stream.

    ``EventWriter(path)`` writes the file only; ``stream=sys.stdout`` echoes each line too.
    """

    def __init__(self, path: Path | str | None = None, stream: TextIO | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.stream = stream
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    @classmethod
    def stdout(cls, path: Path | str | None = None) -> EventWriter:
        return cls(path, sys.stdout)

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        line = encode(event, **fields)
        if self.path is not None:
            # Open per event: a run may be re-attached or resumed by another process, and an
            # append of one short line is atomic enough on every OS we ship to.
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line)
        if self.stream is not None:
            self.stream.write(line)
            self.stream.flush()
        return json.loads(line)


def parse_line(line: str, where: str = "line") -> Event:
    """Parse one line; raises :class:`EventFormatError` naming ``where`` when it is not an event."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as error:
        raise EventFormatError(f"{where}: not JSON ({error.msg})") from None
    except RecursionError:
        raise EventFormatError(f"{where}: the JSON is nested too deeply") from None
    if not isinstance(data, dict):
        raise EventFormatError(f"{where}: an event must be a JSON object")
    version, name, stamp = data.pop("v", None), data.pop("event", None), data.pop("t", None)
    if not isinstance(version, int) or isinstance(version, bool):
        raise EventFormatError(f"{where}, field 'v': missing or not an integer")
    if version > PROTOCOL_VERSION:
        raise EventFormatError(f"{where}, field 'v': version {version} is newer than this"
                               f" reader ({PROTOCOL_VERSION}); update Tuning Studio")
    if not isinstance(name, str) or not name:
        raise EventFormatError(f"{where}, field 'event': missing or not a string")
    if not isinstance(stamp, (int, float)) or isinstance(stamp, bool):
        raise EventFormatError(f"{where}, field 't': missing or not a number")
    return Event(event=name, t=float(stamp), v=version, fields=data)


def iter_events(lines: Iterator[str] | list[str], source: str = "events") -> Iterator[Event]:
    """Parse complete lines, skipping blank ones; errors name ``source`` and the line number."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield parse_line(line, f"{source}:{number}")


def read_events(path: Path | str) -> list[Event]:
    """All complete events of a file (a partial last line, still being written, is left out)."""
    path = Path(path)
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    complete = text[: text.rfind("\n") + 1]
    return list(iter_events(complete.splitlines(), path.name))


def read_outcome_events(path: Path | str) -> list[Event]:
    """A run's or job's events, read for its outcome: the last terminal event wins.

    Once a finished/failed/cancelled event is written, whatever follows is ignored (a stray
    event, garbage, a half-written line: a line appended after ``finished`` must not turn a
    finished run into a cancelled one), except another terminal event (a resumed run that
    stopped again, even before it started) or a ``started`` (a resumed run, going again). A
    bad line before any outcome still raises :class:`EventFormatError` naming its line."""
    path = Path(path)
    if not path.exists():
        return []
    events: list[Event] = []
    ended = False
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text[: text.rfind("\n") + 1].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = parse_line(line, f"{path.name}:{number}")
        except EventFormatError:
            if ended:
                continue  # garbage after the outcome: the outcome stands
            raise
        if event.is_terminal or event.event == "started":
            ended = event.is_terminal
        elif ended:
            continue  # a stray event after the outcome
        events.append(event)
    return events


class EventTail:
    """Reads the events appended to a file since the last call; tolerates a file not yet there."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.offset = 0
        self.lines_read = 0
        self._pending = b""

    def read_new(self) -> list[Event]:
        try:
            with self.path.open("rb") as source:
                source.seek(self.offset)
                chunk = source.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        data = self._pending + chunk
        cut = data.rfind(b"\n") + 1
        self._pending = data[cut:]
        events = []
        for raw in data[:cut].decode("utf-8").splitlines():
            self.lines_read += 1
            if raw.strip():
                events.append(parse_line(raw, f"{self.path.name}:{self.lines_read}"))
        return events
