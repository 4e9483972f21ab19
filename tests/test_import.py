"""Import of every supported row shape and file type into the real store."""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from studio.data.importing import import_parsed, import_path, importer, parse_path
from studio.db.store import Store
from studio.errors import ImportFormatError


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def labels_by_kind(store: Store) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for label in store.current_labels():
        found.setdefault(label.kind, []).append(label.value)
    return found


USER = {"role": "user", "content": "What is the capital of France?"}
GOOD = {"role": "assistant", "content": "Paris."}
BAD = {"role": "assistant", "content": "Lyon."}

SHAPE_CASES = [
    ("prompt", [{"prompt": "Write a haiku."}], {}),
    ("alpaca", [{"instruction": "Add", "input": "2 and 3", "output": "5"}], {"gold": ["gold"]}),
    ("sharegpt", [{"conversations": [{"from": "human", "value": "Hi"},
                                     {"from": "gpt", "value": "Hello!"}]}], {"gold": ["gold"]}),
    ("sharegpt", [{"conversations": [{"from": "human", "value": "Hi"}],
                   "chosen": {"from": "gpt", "value": "Hello!"},
                   "rejected": {"from": "gpt", "value": "Go away."}}], {"pair": ["left"]}),
    ("messages", [{"messages": [USER, GOOD]}], {"gold": ["gold"]}),
    ("messages", [{"messages": [USER, GOOD], "label": True},
                  {"messages": [USER, BAD], "label": False}], {"thumb": ["up", "down"]}),
    ("preference", [{"prompt": "Capital of France?", "chosen": "Paris", "rejected": "Lyon"}],
     {"pair": ["left"]}),
    ("preference", [{"prompt": [USER], "chosen": [GOOD], "rejected": [BAD]}], {"pair": ["left"]}),
    ("preference", [{"chosen": [USER, GOOD], "rejected": [USER, BAD]}], {"pair": ["left"]}),
    ("unpaired", [{"prompt": "Capital?", "completion": "Paris", "label": True}],
     {"thumb": ["up"]}),
    ("completion", [{"prompt": "Capital?", "completion": "Paris"}], {"gold": ["gold"]}),
]


@pytest.mark.parametrize(("shape", "rows", "expected"), SHAPE_CASES)
def test_each_shape_becomes_the_labels_a_person_would_make(
    store: Store, tmp_path: Path, shape: str, rows: list[dict[str, Any]], expected: dict
) -> None:
    report = import_path(store, write_jsonl(tmp_path / "in.jsonl", rows))
    assert report.shape == shape
    assert labels_by_kind(store) == expected
    assert all(label.annotator_kind == "import" for label in store.current_labels())


def test_implicit_prompt_is_the_shared_prefix(store: Store, tmp_path: Path) -> None:
    system = {"role": "system", "content": "Answer briefly."}
    import_path(store, write_jsonl(tmp_path / "p.jsonl", [
        {"chosen": [system, USER, GOOD], "rejected": [system, USER, BAD]}]))
    prompt = store.prompt(1)
    assert prompt.system == "Answer briefly."
    assert prompt.messages == [USER]
    (pair,) = store.current_labels()
    assert store.response(pair.left_id).text == "Paris."


def test_reimport_adds_nothing(store: Store, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "pairs.jsonl", [
        {"prompt": f"Q{i}", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(20)])
    first = import_path(store, path)
    counts = store.counts()
    second = import_path(store, path)
    assert (first.prompts_added, first.responses_added, first.labels_added) == (20, 40, 20)
    assert (second.prompts_added, second.responses_added, second.labels_added) == (0, 0, 0)
    assert store.counts() == counts


def test_csv_with_json_cells(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "prefs.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", "chosen", "rejected"])
        writer.writerow(["Say hi, politely", "Hello, nice to meet you!", "hi"])
        writer.writerow([json.dumps([USER]), json.dumps([GOOD]), json.dumps([BAD])])
    report = import_path(store, path)
    assert (report.shape, report.labels_added) == ("preference", 2)


def test_json_list_and_wrapped(store: Store, tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps([{"prompt": "one"}, {"prompt": "two"}]))
    (tmp_path / "b.json").write_text(json.dumps({"data": [{"prompt": "three"}]}))
    assert import_path(store, tmp_path / "a.json").prompts_added == 2
    assert import_path(store, tmp_path / "b.json").prompts_added == 1


def test_txt_one_prompt_per_line(store: Store, tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text("First prompt\n\nSecond prompt\n", encoding="utf-8")
    assert import_path(store, tmp_path / "p.txt").prompts_added == 2


def test_parquet_and_saved_dataset_folder(store: Store, tmp_path: Path) -> None:
    import datasets

    rows = [{"prompt": f"P{i}", "completion": f"C{i}", "label": i % 2 == 0} for i in range(6)]
    dataset = datasets.Dataset.from_list(rows)
    dataset.to_parquet(str(tmp_path / "kto.parquet"))
    assert import_path(store, tmp_path / "kto.parquet").labels_added == 6
    datasets.DatasetDict({"train": dataset, "test": datasets.Dataset.from_list(
        [{"prompt": "P9", "completion": "C9", "label": False}])}).save_to_disk(
        str(tmp_path / "saved"))
    report = import_path(store, tmp_path / "saved")
    assert (report.rows, report.labels_added) == (7, 1)


def test_hub_id_offline_gives_a_clear_error(store: Store, monkeypatch) -> None:
    from studio.errors import HubUnavailableError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnavailableError, match="trl-lib/ultrafeedback_binarized"):
        import_path(store, "trl-lib/ultrafeedback_binarized")
    assert store.counts()["prompts"] == 0


def test_preview_reports_shape_rows_and_problems(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", [
        {"prompt": "ok", "chosen": "a", "rejected": "b"},
        {"prompt": "no rejected", "chosen": "a"},
        {"prompt": 5, "chosen": "a", "rejected": "b"},
    ])
    parsed = parse_path(path)
    assert (parsed.shape, parsed.rows, len(parsed.examples)) == ("preference", 3, 1)
    assert [str(problem) for problem in parsed.problems] == [
        "line 2, field 'rejected': missing (the format is preference)",
        "line 3, field 'prompt': expected text or a list of messages, got int",
    ]


def test_forced_format(store: Store, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "f.jsonl", [{"prompt": "P", "completion": "C", "label": True}])
    assert import_path(store, path, shape="completion").labels_added == 1
    assert labels_by_kind(store) == {"gold": ["gold"]}


def test_a_checked_file_is_written_without_reading_it_again(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Import dialog's preview is the check: the import writes from it (two reads of the
    file, not three), unless the file changed on disk since; then it is checked again, and a
    row gone bad stops it with nothing stored."""
    source = tmp_path / "rows.jsonl"
    source.write_text("".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}) + "\n"
                              for i in range(30)), encoding="utf-8")
    parsed = parse_path(source)
    checks: list[Path] = []
    original = importer._parse_rows
    monkeypatch.setattr(importer, "_parse_rows",
                        lambda p: (checks.append(p.path), original(p))[1])
    assert import_parsed(store, parsed).prompts_added == 30
    assert checks == []
    changed = tmp_path / "changed.jsonl"
    changed.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    stale = parse_path(changed)
    checks.clear()
    with changed.open("a", encoding="utf-8") as handle:
        handle.write('{"prompt": "q99"}\n')  # no completion: the file's format says one
    os.utime(changed, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    before = store.counts()
    with pytest.raises(ImportFormatError, match="line 31"):
        import_parsed(store, stale)
    assert checks == [changed]
    assert store.counts() == before
