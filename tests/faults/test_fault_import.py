"""Family 4: import refuses cleanly (a message naming the file, row and field; nothing
stored) and never loses rows; valid-but-unusual files import whole."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.data.importing.importer import import_path
from studio.db.store import Store
from studio.errors import ImportFormatError


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _deep_jsonl(tmp: Path) -> Path:
    (tmp / "deep.jsonl").write_text('{"prompt": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    return tmp / "deep.jsonl"


def _deep_json(tmp: Path) -> Path:
    (tmp / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    return tmp / "deep.json"


def _surrogate(tmp: Path) -> Path:
    (tmp / "s.jsonl").write_text('{"prompt": "ok"}\n{"prompt": "bad \\ud800 text"}\n')
    return tmp / "s.jsonl"


def _arrow(tmp: Path, state: str | None, splits: object = None) -> Path:
    folder = tmp / "saved"
    (folder / "train").mkdir(parents=True)
    if splits is not None:
        (folder / "dataset_dict.json").write_text(json.dumps({"splits": splits}))
    else:
        (folder / "dataset_info.json").write_text("{}")
    target = folder / "train" if splits is not None else folder
    if state is not None:
        (target / "state.json").write_text(state)
    return folder


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.jsonl")
    return tmp / "pipe.jsonl"


def _dev_zero(tmp: Path) -> Path:
    (tmp / "zero.jsonl").symlink_to("/dev/zero")
    return tmp / "zero.jsonl"


def _big_json_example(tmp: Path) -> Path:
    (tmp / "big.json").write_text(json.dumps([{"prompt": "x" * (9 * 2**20)}]))
    return tmp / "big.json"


def _null_first_row(tmp: Path) -> Path:
    rows: list[object] = [{"prompt": "p0", "chosen": "a", "rejected": None}]
    rows += [{"prompt": f"p{i}", "chosen": "good", "rejected": "bad"} for i in range(1, 6)]
    return _jsonl(tmp / "pairs.jsonl", rows)


def _unbalanced_csv(tmp: Path) -> Path:
    (tmp / "q.csv").write_text('prompt,completion\n"first,one\nsecond,two\nthird,three\n')
    return tmp / "q.csv"


def _escape_field(tmp: Path) -> Path:
    return _jsonl(tmp / "esc.jsonl", [{"\x1b[31mred\x1b[0m": "x"}])


def _empty_parts(tmp: Path) -> Path:
    return _jsonl(tmp / "parts.jsonl", [{"messages": [
        {"role": "user", "content": [{"type": "text", "text": ""}]}]}])


REFUSED: dict[str, tuple[Callable[[Path], Path], str]] = {
    "JSON Lines nested 100k deep": (_deep_jsonl, "line 1: the JSON is nested too deeply"),
    "JSON nested 100k deep": (_deep_json, "nested too deeply"),
    "lone surrogate": (_surrogate, "line 2: contains a lone surrogate"),
    "save_to_disk without state.json": (lambda t: _arrow(t, None), "state.json is missing"),
    "save_to_disk with broken state.json": (lambda t: _arrow(t, "{broken"),
                                            "field '_data_files': unreadable"),
    "split name with ../": (lambda t: _arrow(t, "{}", ["../../etc"]),
                            "points outside the dataset folder"),
    "named pipe": (_fifo, "not a regular file"),
    "symlink to /dev/zero": (_dev_zero, "not a regular file"),
    "9 MB example in .json": (_big_json_example, "item 1: the example is 9.4 MB, over the"),
    "first row's pair is null": (_null_first_row, "line 1, field 'rejected': missing (the"
                                 " format is preference)"),
    "CSV with an unbalanced quote": (_unbalanced_csv, "line 2: broken CSV quoting"),
    "terminal escapes in field names": (_escape_field, "\\x1b[31mred\\x1b[0m"),
    "empty text parts": (_empty_parts, "expected non-empty text"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_hostile_input_is_refused_with_a_message(store: Store, tmp_path: Path,
                                                 case: str) -> None:
    make, expected = REFUSED[case]
    path = make(tmp_path)
    with pytest.raises(ImportFormatError) as caught:
        import_path(store, path)
    message = str(caught.value)
    assert expected in message
    assert "\x1b" not in message
    assert store.counts() == {"prompts": 0, "responses": 0, "labels": 0}


def test_long_csv_cell_imports(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["prompt", "completion"], ["q", "y" * 200_000]])
    report = import_path(store, path)
    assert report.labels_added == 1
    assert len(store.responses_for(1)[0].text) == 200_000


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "json"])
def test_byte_order_mark_is_accepted(store: Store, tmp_path: Path, suffix: str) -> None:
    body = {"jsonl": '{"prompt": "hello"}\n', "csv": "prompt\nhello\n",
            "json": '[{"prompt": "hello"}]'}[suffix]
    path = tmp_path / f"bom.{suffix}"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    assert import_path(store, path).prompts_added == 1
    assert store.prompt(1).text == "hello"


def test_llamafactory_value_parts_keep_every_prompt(store: Store, tmp_path: Path) -> None:
    rows = [{"messages": [
        {"role": "user", "content": [{"type": "text", "value": f"question {i}"}]},
        {"role": "assistant", "content": [{"type": "text", "value": f"answer {i}"}]}]}
        for i in range(500)]
    report = import_path(store, _jsonl(tmp_path / "lf.jsonl", rows))
    assert (report.prompts_added, report.labels_added) == (500, 500)
    texts = {row["text"] for row in store.db.query("SELECT text FROM prompts")}
    assert "" not in texts
    assert "question 499" in texts


def test_llamafactory_chosen_and_rejected_messages(store: Store, tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}],
             "chosen_messages": [{"role": "assistant", "content": "good"}],
             "rejected_messages": [{"role": "assistant", "content": "bad"}]} for i in range(3)]
    rows.append({"chosen_messages": [{"role": "user", "content": "q3"},
                                     {"role": "assistant", "content": "good"}],
                 "rejected_messages": [{"role": "user", "content": "q3"},
                                       {"role": "assistant", "content": "bad"}]})
    report = import_path(store, _jsonl(tmp_path / "lf-pairs.jsonl", rows))
    assert (report.shape, report.prompts_added, report.labels_added) == (
        "preference_messages", 4, 4)
    assert {label.kind for label in store.current_labels()} == {"pair"}


@pytest.mark.parametrize("leave_kb", [1536, 3072])
def test_a_disk_full_half_way_through_an_import_stores_none_of_it(
        small_disk: Path, tmp_path: Path, lost_writes: Callable[[int], None],
        leave_kb: int) -> None:
    """40,000 rows on a disk with room for part of them: the disk fills after some batches
    are written. The import must leave the database as it was (it used to keep 36,000 rows,
    because the clean-up DELETE needed disk space too), and work once space is freed."""
    from small_disk import fill_disk

    from studio.errors import DiskFullError

    store = Store.open(small_disk / "studio.db")
    kept = store.label_gold(store.add_prompt("before"), "confirmed", "me")
    source = _jsonl(tmp_path / "big.jsonl", [
        {"prompt": f"question {i}", "completion": f"answer {i}", "label": i % 2 == 0}
        for i in range(40_000)])
    filler = fill_disk(small_disk, leave=leave_kb * 1024)
    with pytest.raises(DiskFullError, match="the disk is full"):
        import_path(store, source)
    counts = store.counts()
    lost_writes(0 if store.label(kept.id).value == "gold" else 1)
    assert counts == {"prompts": 1, "responses": 1, "labels": 1}
    assert store.db.execute("SELECT count(*) FROM imports").fetchone()[0] == 0
    filler.unlink()
    report = import_path(store, _jsonl(tmp_path / "small.jsonl", [
        {"prompt": f"question {i}", "completion": f"answer {i}", "label": True}
        for i in range(50)]))
    assert (report.prompts_added, report.labels_added) == (50, 50)
    store.close()
