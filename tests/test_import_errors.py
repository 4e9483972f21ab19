"""A corpus of broken inputs: each gives its clear error, and the database stays unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.data.importing import import_path
from studio.db.store import Store
from studio.errors import ImportFormatError

GOOD_LINE = json.dumps({"prompt": "fine", "chosen": "a", "rejected": "b"})


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path
    return make


def _huge_line(folder: Path) -> Path:
    path = folder / "huge.jsonl"
    text = "x" * (10 * 1024 * 1024)
    path.write_text(GOOD_LINE + "\n" + json.dumps({"prompt": text}) + "\n", encoding="utf-8")
    return path


CORPUS = [
    ("truncated JSON", _bytes("t.jsonl", (GOOD_LINE + "\n" + GOOD_LINE[:20]).encode()),
     r"line 2: invalid JSON"),
    ("wrong type", _bytes("w.jsonl", (GOOD_LINE + '\n{"prompt": ["x"], "chosen": "a",'
                                      ' "rejected": "b"}\n').encode()),
     r"line 2, field 'prompt\[0\]': expected a message object, got str"),
    ("missing field", _bytes("m.jsonl", (GOOD_LINE + '\n{"prompt": "x", "chosen": "a"}\n')
                             .encode()), r"line 2, field 'rejected': missing"),
    ("unknown shape", _bytes("u.jsonl", b'{"question": "x", "answer": "y"}\n'),
     r"line 1: unrecognized row shape \(fields: answer, question\)"),
    ("empty file", _bytes("e.jsonl", b""), r"the file holds no rows"),
    ("only blank lines", _bytes("b.jsonl", b"\n\n  \n"), r"the file holds no rows"),
    ("10 MB line", _huge_line, r"line 2: the row is 10\.5 MB, over the 8 MB limit"),
    ("invalid UTF-8", _bytes("i.jsonl", GOOD_LINE.encode() + b'\n{"prompt": "caf\xe9"}\n'),
     r"line 2: not valid UTF-8"),
    ("not an object", _bytes("n.jsonl", b"[1, 2]\n"), r"line 1: expected a JSON object, got"
                                                      r" list"),
    ("bad label", _bytes("l.jsonl", b'{"prompt": "p", "completion": "c", "label": "maybe"}\n'),
     r"line 1, field 'label': expected true or false, got 'maybe'"),
    ("bad role", _bytes("r.jsonl", b'{"messages": [{"role": "wizard", "content": "x"}]}\n'),
     r"field 'messages\[0\].role': unknown role 'wizard'"),
    ("answer without question", _bytes("a.jsonl", b'{"messages": [{"role": "assistant",'
                                                  b' "content": "x"}]}\n'),
     r"needs a user turn"),
    ("truncated JSON file", _bytes("t.json", b'[{"prompt": "a"}, {"prompt": '),
     r"line 1: invalid JSON"),
    ("csv ragged row", _bytes("r.csv", b"prompt\nfine\nx,extra\n"),
     r"line 3: more cells than there are column headers"),
    ("csv bad JSON cell", _bytes("j.csv", b'prompt,chosen,rejected\n"[{""role"": ",a,b\n'),
     r"line 2, field 'prompt': invalid JSON in the cell"),
    ("not parquet", _bytes("x.parquet", b"PAR1 this is not parquet"), r"not a readable Parquet"),
    ("unsupported type", _bytes("x.xlsx", b"data"), r"unsupported file type '\.xlsx'"),
]


@pytest.mark.parametrize(("name", "make", "message"), CORPUS, ids=[c[0] for c in CORPUS])
def test_malformed_input_is_refused_whole(
    store: Store, tmp_path: Path, name: str, make: Callable[[Path], Path], message: str
) -> None:
    store.add_prompt("Already here")
    before = store.counts()
    path = make(tmp_path)
    with pytest.raises(ImportFormatError, match=message) as caught:
        import_path(store, path)
    assert path.name in str(caught.value)
    assert "Nothing was imported" in str(caught.value)
    assert store.counts() == before
    assert store.db["imports"].count == 0


def test_missing_file(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="no such file"):
        import_path(store, tmp_path / "nope.jsonl")


def test_cancel_mid_import_leaves_the_database_unchanged(store: Store, tmp_path: Path) -> None:
    from studio.errors import ImportCancelledError

    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(json.dumps({"prompt": f"p{i}"}) for i in range(12_000)))
    calls = []

    def cancel_after_first_chunk() -> bool:
        calls.append(1)
        return len(calls) > 1

    with pytest.raises(ImportCancelledError):
        import_path(store, path, should_cancel=cancel_after_first_chunk)
    assert store.counts()["prompts"] == 0
