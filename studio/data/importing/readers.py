"""Readers turn a file or folder into rows, each with a human location ("line 12").

A reader raises :class:`RowError` for a row it cannot read; the importer collects them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_ROW_BYTES = 8 * 1024 * 1024  # a single example this large is a broken file, not data
FILE_KINDS = ("jsonl", "json", "csv", "parquet", "txt", "arrow-folder")
# Columns that CSV files commonly carry as JSON text.
JSON_COLUMNS = {"messages", "conversations", "chosen", "rejected", "prompt", "completion", "tags"}


@dataclass
class SourceRow:
    location: str
    data: dict[str, Any]


class RowError(Exception):
    """A row that cannot be read; carries where and which field."""

    def __init__(self, location: str, message: str, field: str | None = None):
        super().__init__(message)
        self.location = location
        self.message = message
        self.field = field


class FileError(Exception):
    """A file that cannot be read at all (wrong type, unreadable, empty)."""


def file_kind(path: Path) -> str:
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists():
            return "arrow-folder"
        raise FileError(f"{path} is a folder, but not one written by datasets' save_to_disk")
    suffix = path.suffix.lower().lstrip(".")
    if suffix in {"jsonl", "ndjson"}:
        return "jsonl"
    if suffix in {"json", "csv", "parquet", "txt"}:
        return suffix
    raise FileError(
        f"{path.name}: unsupported file type '.{suffix}' (use .jsonl, .json, .csv, .parquet,"
        " .txt or a datasets folder)"
    )


def read_rows(path: Path) -> Iterator[SourceRow]:
    """Rows of any supported file or folder, in order."""
    kind = file_kind(path)
    reader = {
        "jsonl": _read_jsonl, "json": _read_json, "csv": _read_csv,
        "parquet": _read_parquet, "txt": _read_txt, "arrow-folder": _read_arrow_folder,
    }[kind]
    yield from reader(path)


def _decode(raw: bytes, location: str) -> str:
    if len(raw) > MAX_ROW_BYTES:
        raise RowError(
            location, f"the row is {len(raw) / 1e6:.1f} MB, over the {MAX_ROW_BYTES // 2**20} MB"
            " limit for one example"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RowError(
            location, f"not valid UTF-8 (byte {error.start}); save the file as UTF-8"
        ) from error


def _read_jsonl(path: Path) -> Iterator[SourceRow]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            location = f"line {number}"
            text = _decode(raw, location).strip()
            if not text:
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                raise RowError(location, f"invalid JSON ({error.msg} at column {error.colno})") \
                    from error
            yield SourceRow(location, _as_object(value, location))


def _read_json(path: Path) -> Iterator[SourceRow]:
    text = _decode(path.read_bytes(), "file") if path.stat().st_size <= MAX_ROW_BYTES \
        else _read_large_text(path)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise RowError(f"line {error.lineno}", f"invalid JSON ({error.msg})") from error
    items = _json_items(value)
    for index, item in enumerate(items, start=1):
        location = f"item {index}"
        yield SourceRow(location, _as_object(item, location))


def _read_large_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise RowError("file", f"not valid UTF-8 (byte {error.start})") from error


def _json_items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) == 1 and all(isinstance(v, dict) for v in lists[0]):
            return lists[0]  # {"data": [...]} or {"train": [...]}
        return [value]
    raise RowError("file", "expected a JSON list of objects")


def _as_object(value: Any, location: str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"prompt": value}
    if not isinstance(value, dict):
        raise RowError(location, f"expected a JSON object, got {type(value).__name__}")
    return value


def _read_txt(path: Path) -> Iterator[SourceRow]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            text = _decode(raw, f"line {number}").rstrip("\r\n")
            if text.strip():
                yield SourceRow(f"line {number}", {"prompt": text})


def _read_csv(path: Path) -> Iterator[SourceRow]:
    text = _read_large_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not reader.fieldnames:
        return
    for row in reader:
        location = f"line {reader.line_num}"
        if None in row:
            raise RowError(location, "more cells than there are column headers")
        yield SourceRow(location, {k: _csv_cell(k, v, location) for k, v in row.items()})


def _csv_cell(column: str, cell: str | None, location: str) -> Any:
    if cell is None or cell == "":
        return None
    stripped = cell.strip()
    if column in JSON_COLUMNS and stripped[:1] in "[{":
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as error:
            raise RowError(location, f"invalid JSON in the cell ({error.msg})", column) from error
    return cell


def _read_parquet(path: Path) -> Iterator[SourceRow]:
    import pyarrow.parquet as pq  # lazy: pyarrow costs ~0.3 s to import

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as error:
        raise FileError(f"{path.name}: not a readable Parquet file ({error})") from error
    for index, row in enumerate(table.to_pylist(), start=1):
        yield SourceRow(f"row {index}", row)


def _read_arrow_folder(path: Path) -> Iterator[SourceRow]:
    import pyarrow as pa

    if (path / "dataset_dict.json").exists():
        splits = json.loads((path / "dataset_dict.json").read_text())["splits"]
        folders = [(split, path / split) for split in splits]
    else:
        folders = [("", path)]
    for split, folder in folders:
        state = json.loads((folder / "state.json").read_text())
        index = 0
        for entry in state["_data_files"]:
            with pa.memory_map(str(folder / entry["filename"])) as source:
                table = pa.ipc.open_stream(source).read_all()
            for row in table.to_pylist():
                index += 1
                prefix = f"{split} " if split else ""
                yield SourceRow(f"{prefix}row {index}", row)
