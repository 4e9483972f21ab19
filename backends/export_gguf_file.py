"""Read a GGUF file's header in plain Python: metadata, tensor table, and whether it is whole.

llama.cpp refuses a damaged file with a bare "failed to load model"; reading the header first
lets the chat worker and the export say *what* is wrong (not a GGUF, truncated, unknown
version). No llama_cpp import: this also runs where only the file is at hand.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from studio.errors import StudioError

MAGIC = b"GGUF"
# value type id -> struct format, for the fixed-size GGUF metadata types
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q",
            12: "d"}
_STRING, _ARRAY = 8, 9
# ggml type id -> (elements per block, bytes per block), for the size check of tensor data
_TYPE_SIZES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24),
               8: (32, 34), 9: (32, 36), 10: (256, 84), 11: (256, 110), 12: (256, 144),
               13: (256, 176), 14: (256, 210), 15: (256, 292), 24: (1, 1), 25: (1, 2),
               26: (1, 4), 27: (1, 8), 28: (1, 8), 30: (1, 2)}


class GGUFFileError(StudioError):
    """A file that is missing, not a GGUF, or damaged."""


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    n_tensors: int = 0
    size_bytes: int = 0

    @property
    def architecture(self) -> str | None:
        return self.metadata.get("general.architecture")

    @property
    def chat_template(self) -> str | None:
        return self.metadata.get("tokenizer.chat_template")

    def token_text(self, token_id: int | None) -> str | None:
        tokens = self.metadata.get("tokenizer.ggml.tokens")
        if token_id is None or not tokens or not 0 <= token_id < len(tokens):
            return None
        return tokens[token_id]

    @property
    def eos_text(self) -> str | None:
        return self.token_text(self.metadata.get("tokenizer.ggml.eos_token_id"))


def read_gguf(path: Path | str) -> GGUFInfo:
    """Read and check a GGUF file; raises :class:`GGUFFileError` saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise GGUFFileError(f"{path} does not exist")
    if not path.is_file():
        raise GGUFFileError(f"{path} is not a file")
    size = path.stat().st_size
    with path.open("rb") as file:
        magic = file.read(4)
        if magic != MAGIC:
            raise GGUFFileError(f"{path.name} is not a GGUF file (it starts with {magic!r},"
                                " not b'GGUF')")
        try:
            return _read_body(file, path, size)
        except (struct.error, UnicodeDecodeError, MemoryError, OverflowError) as error:
            raise GGUFFileError(f"{path.name} is truncated or damaged: its header cannot be"
                                f" read ({error}); export or download it again") from None


def _read_body(file: BinaryIO, path: Path, size: int) -> GGUFInfo:
    version, n_tensors, n_kv = struct.unpack("<IQQ", _take(file, 20))
    if version not in (2, 3):
        raise GGUFFileError(f"{path.name}: GGUF version {version} is not supported (2 or 3)")
    metadata = {}
    for _ in range(n_kv):
        key = _string(file)
        metadata[key] = _value(file, struct.unpack("<I", _take(file, 4))[0])
    data_end = 0
    for _ in range(n_tensors):
        _string(file)
        n_dims = struct.unpack("<I", _take(file, 4))[0]
        dims = struct.unpack(f"<{n_dims}Q", _take(file, 8 * n_dims))
        ggml_type, offset = struct.unpack("<IQ", _take(file, 12))
        data_end = max(data_end, offset + _nbytes(ggml_type, dims))
    alignment = metadata.get("general.alignment", 32)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise GGUFFileError(f"{path.name}: general.alignment is {alignment!r}, not a power of"
                            " two; the file is damaged or was not written by a GGUF writer")
    data_start = -(-file.tell() // alignment) * alignment
    if data_start + data_end > size:
        raise GGUFFileError(
            f"{path.name} is truncated: its tensors need {data_start + data_end} bytes but the"
            f" file has {size}; export or download it again")
    return GGUFInfo(path, version, metadata, n_tensors, size)


def _nbytes(ggml_type: int, dims: tuple[int, ...]) -> int:
    count = 1
    for dim in dims:
        count *= dim
    block, block_bytes = _TYPE_SIZES.get(ggml_type, (1, 0))  # unknown type: offset check only
    return count // block * block_bytes


def _take(file: BinaryIO, n: int) -> bytes:
    data = file.read(n)
    if len(data) != n:
        raise struct.error(f"unexpected end of file at byte {file.tell()}")
    return data


def _string(file: BinaryIO) -> str:
    length = struct.unpack("<Q", _take(file, 8))[0]
    return _take(file, length).decode("utf-8")


def _value(file: BinaryIO, kind: int) -> Any:
    if kind in _SCALARS:
        fmt = "<" + _SCALARS[kind]
        return struct.unpack(fmt, _take(file, struct.calcsize(fmt)))[0]
    if kind == _STRING:
        return _string(file)
    if kind == _ARRAY:
        item_kind, count = struct.unpack("<IQ", _take(file, 12))
        return [_value(file, item_kind) for _ in range(count)]
    raise struct.error(f"unknown metadata value type {kind}")
