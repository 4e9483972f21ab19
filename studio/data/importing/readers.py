"""Readers turn a file or folder into rows, each with a human location ("line 12").

A reader raises :class:`RowError` for a row it cannot read; the importer collects them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

MAX_ROW_BYTES = 8 * 1024 * 1024  # a single example this large is a broken file, not data
# A .json or .csv file is parsed whole; beyond this, JSON Lines streams row by row instead.
MAX_WHOLE_FILE_BYTES = 1024 * 1024 * 1024
FILE_KINDS = ("jsonl", "json", "csv", "parquet", "txt", "arrow-folder")
# Columns that CSV files commonly carry as JSON text.
JSON_COLUMNS = {"messages", "conversations", "chosen", "rejected", "prompt", "completion", "tags"}


BOM = b"\xef\xbb\xbf"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


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
    _require_regular(path)
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


def _require_regular(path: Path) -> None:
    """Refuse devices, pipes and sockets (also behind a symlink): /dev/zero never ends and a
    named pipe blocks for ever."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise FileError(f"{path.name}: cannot be read ({error.strerror})") from error
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise FileError(f"{path.name}: not a regular file (a device, pipe or socket); import a"
                        " file saved on disk")


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
            location, f"the row is over the {MAX_ROW_BYTES // 2**20} MB limit for one example"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RowError(
            location, f"not valid UTF-8 (byte {error.start}); save the file as UTF-8"
        ) from error


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Lines, each read with a bound: a line over the limit is refused before it is held."""
    with path.open("rb") as handle:
        number = 0
        while raw := handle.readline(MAX_ROW_BYTES + 1):
            number += 1
            if number == 1 and raw.startswith(BOM):
                raw = raw[len(BOM):]
            if len(raw) > MAX_ROW_BYTES:
                _refuse_long_line(handle, len(raw), number)
            yield number, raw


def _refuse_long_line(handle: BinaryIO, size: int, number: int) -> None:
    """Measure the rest of the line in bounded chunks, to say how big it is, then refuse."""
    while not (chunk := handle.readline(1 << 20)).endswith(b"\n") and chunk:
        size += len(chunk)
    size += len(chunk)
    raise RowError(f"line {number}", f"the row is {size / 1e6:.1f} MB, over the"
                   f" {MAX_ROW_BYTES // 2**20} MB limit for one example")


def _read_jsonl(path: Path) -> Iterator[SourceRow]:
    for number, raw in _lines(path):
        location = f"line {number}"
        text = _decode(raw, location).strip()
        if not text:
            continue
        value = _loads(text, location)
        # A lone surrogate in a JSON line can only come from a \uD800-\uDFFF escape: without
        # one the line needs no second check (the check re-encodes the row: 10% of an import).
        yield SourceRow(location, _as_object(value, location,
                                             check=_SURROGATE_ESCAPE.search(text) is not None))


def _loads(text: str, location: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = location if location != "file" else f"line {error.lineno}"
        raise RowError(where, f"invalid JSON ({error.msg} at column {error.colno})") from error
    except RecursionError as error:
        raise RowError(location, "the JSON is nested too deeply to be an example") from error


def _read_json(path: Path) -> Iterator[SourceRow]:
    value = _loads(_read_whole_text(path), "file")
    items = _json_items(value)
    for index, item in enumerate(items, start=1):
        location = f"item {index}"
        row = _as_object(item, location)
        # The same per-example limit as JSON Lines, where each example is one line.
        size = len(json.dumps(row, ensure_ascii=False).encode("utf-8"))
        if size > MAX_ROW_BYTES:
            raise RowError(location, f"the example is {size / 1e6:.1f} MB, over the"
                           f" {MAX_ROW_BYTES // 2**20} MB limit for one example")
        yield SourceRow(location, row)


def _read_whole_text(path: Path) -> str:
    """The whole file as text (BOM dropped), refusing it before reading when it is too big."""
    size = path.stat().st_size
    if size > MAX_WHOLE_FILE_BYTES:
        raise FileError(f"{path.name} is {size / 1e9:.1f} GB; files over"
                        f" {MAX_WHOLE_FILE_BYTES / 1e9:.0f} GB must be JSON Lines (.jsonl),"
                        " which is read one example at a time")
    with path.open("rb") as handle:
        raw = handle.read(MAX_WHOLE_FILE_BYTES + 1)  # bounded even if the file grows
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RowError("file", f"not valid UTF-8 (byte {error.start}); save the file as UTF-8") \
            from error


def _json_items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) == 1 and all(isinstance(v, dict) for v in lists[0]):
            return lists[0]  # {"data": [...]} or {"train": [...]}
        return [value]
    raise RowError("file", "expected a JSON list of objects")


def _as_object(value: Any, location: str, check: bool = True) -> dict[str, Any]:
    if isinstance(value, str):
        value = {"prompt": value}
    if not isinstance(value, dict):
        raise RowError(location, f"expected a JSON object, got {type(value).__name__}")
    if not check:
        return value
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        # JSON allows "\ud800" escapes that are not text; SQLite would refuse them later.
        raise RowError(location, "contains a lone surrogate escape (like \\ud800), which is"
                       " not valid Unicode text") from error
    except RecursionError as error:
        raise RowError(location, "the JSON is nested too deeply to be an example") from error
    return value


def _read_txt(path: Path) -> Iterator[SourceRow]:
    for number, raw in _lines(path):
        text = _decode(raw, f"line {number}").rstrip("\r\n")
        if text.strip():
            yield SourceRow(f"line {number}", {"prompt": text})


def _read_csv(path: Path) -> Iterator[SourceRow]:
    text = _read_whole_text(path)
    # The default 128 kB cell limit refuses valid long answers; one example's limit applies.
    csv.field_size_limit(MAX_ROW_BYTES)
    # strict: an unbalanced quote is an error, not a cell that swallows the following rows.
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        if not reader.fieldnames:  # reads the header, so line numbers below are right
            return
    except csv.Error as error:
        raise RowError("line 1", f"broken CSV quoting in the header ({error})") from error
    rows = iter(reader)
    while True:
        start = reader.line_num + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as error:
            raise RowError(f"line {start}", f"broken CSV quoting ({error}): a quote opened here"
                           " is not closed where the cell ends; fix the quotes") from error
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
        except RecursionError as error:
            raise RowError(location, "the JSON in the cell is nested too deeply", column) \
                from error
    return cell


def _read_parquet(path: Path) -> Iterator[SourceRow]:
    import pyarrow.parquet as pq  # lazy: pyarrow costs ~0.3 s to import

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as error:
        raise FileError(f"{path.name}: not a readable Parquet file ({error})") from error
    for index, row in enumerate(table.to_pylist(), start=1):
        yield SourceRow(f"row {index}", row)


def _folder_json(path: Path, key: str) -> list[Any]:
    """A list from a datasets metadata file, or FileError naming the file and the field."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))[key]
    except FileNotFoundError as error:
        raise FileError(f"{path} is missing; save the dataset again with save_to_disk") \
            from error
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise FileError(f"{path}, field '{key}': unreadable ({type(error).__name__}); save the"
                        " dataset again with save_to_disk") from error
    if not isinstance(value, list):
        raise FileError(f"{path}, field '{key}': expected a list")
    return value


def _inside(root: Path, name: Any, source: Path) -> Path:
    """``root / name``, refusing names that lead out of the folder (``../``, absolute)."""
    target = (root / str(name)).resolve()
    if not isinstance(name, str) or not target.is_relative_to(root.resolve()):
        raise FileError(f"{source}: {name!r} points outside the dataset folder; refusing it")
    return target


def _read_arrow_folder(path: Path) -> Iterator[SourceRow]:
    import pyarrow as pa

    if (path / "dataset_dict.json").exists():
        splits = _folder_json(path / "dataset_dict.json", "splits")
        folders = [(str(split), _inside(path, split, path / "dataset_dict.json"))
                   for split in splits]
    else:
        folders = [("", path)]
    for split, folder in folders:
        entries = _folder_json(folder / "state.json", "_data_files")
        index = 0
        for entry in entries:
            name = entry.get("filename") if isinstance(entry, dict) else None
            data_file = _inside(folder, name, folder / "state.json")
            try:
                with pa.memory_map(str(data_file)) as source:
                    table = pa.ipc.open_stream(source).read_all()
            except (OSError, pa.ArrowInvalid) as error:
                raise FileError(f"{data_file}: not a readable Arrow file ({error})") from error
            for row in table.to_pylist():
                index += 1
                prefix = f"{split} " if split else ""
                yield SourceRow(f"{prefix}row {index}", row)
