"""The event protocol: what writers produce, parsers accept and tailers see."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from studio.events import (
    EVENTS,
    PROTOCOL_VERSION,
    EventFormatError,
    EventTail,
    EventWriter,
    encode,
    parse_line,
    read_events,
)


def test_every_event_round_trips() -> None:
    for name in sorted(EVENTS):
        fields = {"message": "m"} if name in {"failed", "error"} else {"step": 3}
        event = parse_line(encode(name, **fields))
        assert event.event == name
        assert event.v == PROTOCOL_VERSION
        assert event.t > 0
        assert event.fields == fields


def test_non_finite_floats_become_null() -> None:
    line = encode("step", step=1, loss=float("nan"), metrics={"x": float("inf")})
    data = json.loads(line, parse_constant=lambda name: pytest.fail(f"non-strict {name}"))
    assert data["loss"] is None
    assert data["metrics"] == {"x": None}


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [({"event": "bogus"}, "unknown event"), ({"event": "step", "v": 2}, "may not be named"),
     ({"event": "failed"}, "needs a human 'message'")],
)
def test_writer_rejects_bad_events(kwargs: dict, needle: str) -> None:
    with pytest.raises(EventFormatError, match=needle):
        encode(**kwargs)


@pytest.mark.parametrize(
    ("line", "needle"),
    [("not json", "not JSON"), ("[1]", "JSON object"), ('{"event": "step", "t": 1}', "'v'"),
     ('{"v": 99, "event": "step", "t": 1}', "newer"), ('{"v": 1, "t": 1}', "'event'"),
     ('{"v": 1, "event": "step"}', "'t'")],
)
def test_parser_names_the_problem(line: str, needle: str) -> None:
    with pytest.raises(EventFormatError, match=needle):
        parse_line(line, "events.jsonl:7")
    with pytest.raises(EventFormatError, match=r"events\.jsonl:7"):
        parse_line(line, "events.jsonl:7")


def test_writer_appends_to_file_and_stream(tmp_path: Path) -> None:
    stream = io.StringIO()
    writer = EventWriter(tmp_path / "sub" / "events.jsonl", stream)
    writer.emit("started", counts={"train": 4})
    writer.emit("step", step=1, loss=0.5)
    events = read_events(tmp_path / "sub" / "events.jsonl")
    assert [e.event for e in events] == ["started", "step"]
    assert events[1]["loss"] == 0.5
    assert stream.getvalue().count("\n") == 2


def test_tail_holds_back_partial_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    tail = EventTail(path)
    assert tail.read_new() == []
    first, second = encode("step", step=1), encode("step", step=2)
    path.write_text(first + second[:10], encoding="utf-8")
    assert [e["step"] for e in tail.read_new()] == [1]
    assert read_events(path)[-1]["step"] == 1
    with path.open("a", encoding="utf-8") as out:
        out.write(second[10:])
    assert [e["step"] for e in tail.read_new()] == [2]
    assert tail.read_new() == []


def test_event_helpers() -> None:
    event = parse_line(encode("failed", message="boom", log="x.log"))
    assert event.is_terminal
    assert event.get("missing", 5) == 5
    assert event.as_dict()["message"] == "boom"
