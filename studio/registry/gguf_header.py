"""The one GGUF header reader, with limits: add-model (``studio.registry.gguf_info``), the
chat worker and the export (``backends.lib.export_gguf_file``) all read files through it.

A GGUF is data from anywhere (a download, an Ollama blob), so every count and length in it is
checked against the file before it is believed: a string of 2^62 bytes, an array of 2^60
items, 200,000 nested arrays, a tensor with 2^32-1 dimensions, an alignment of 0. Each is a
:class:`GGUFFileError` naming the file and the field, never a MemoryError, RecursionError or
ZeroDivisionError after minutes of work. This is plain Python over the file (the ``gguf``
package only lends its type table), so the GUI can read headers without llama.cpp.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from studio.errors import StudioError

MAGIC = b"GGUF"
# GGUF value types: id -> struct format of one scalar (8 = string, 9 = array, handled apart).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
MAX_STRING_BYTES = 64 * 2**20  # a chat template is kilobytes; a token a few bytes
MAX_ARRAY_DEPTH = 4  # llama.cpp reads no nested arrays at all
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_ELEMENTS = 2**62  # a tensor's element count must stay far below int64's end


class GGUFFileError(StudioError):
    """A file that is missing, not a GGUF, or damaged (the message names the file and why)."""


@dataclass(frozen=True)
class TensorInfo:
    name: str
    ggml_type: int
    dims: tuple[int, ...]
    offset: int
    elements: int
    nbytes: int


@dataclass(frozen=True)
class GGUFHeader:
    path: Path
    version: int
    size: int
    data_start: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)

    @property
    def data_end(self) -> int:
        """Where the last tensor's data ends (the file must be at least this long)."""
        return self.data_start + max((t.offset + t.nbytes for t in self.tensors), default=0)


def _block_sizes() -> dict[int, tuple[int, int]]:
    from gguf.constants import GGML_QUANT_SIZES

    return {int(kind): sizes for kind, sizes in GGML_QUANT_SIZES.items()}


class _Reader:
    def __init__(self, handle: IO[bytes], size: int, name: str, keep_arrays: int | None):
        self.handle, self.size, self.name, self.keep_arrays = handle, size, name, keep_arrays

    def fail(self, why: str) -> GGUFFileError:
        return GGUFFileError(f"{self.name} is truncated or damaged: {why} (at byte"
                             f" {self.handle.tell()}); export or download it again")

    def left(self) -> int:
        return self.size - self.handle.tell()

    def take(self, n: int) -> bytes:
        if n > self.left():
            raise self.fail(f"{n} bytes are needed but only {self.left()} remain")
        return self.handle.read(n)

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def string(self, what: str) -> str:
        (length,) = self.unpack("<Q")
        if length > min(MAX_STRING_BYTES, self.left()):
            raise self.fail(f"{what} claims a string of {length} bytes")
        try:
            return self.take(length).decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{what} is not UTF-8 text") from None

    def value(self, kind: int, key: str, depth: int = 0) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])[0]
        if kind == _STRING:
            return self.string(key)
        if kind != _ARRAY:
            raise self.fail(f"{key} has unknown value type {kind}")
        if depth >= MAX_ARRAY_DEPTH:
            raise self.fail(f"{key} nests arrays deeper than {MAX_ARRAY_DEPTH}")
        item_kind, count = self.unpack("<IQ")
        smallest = struct.calcsize(_SCALARS[item_kind]) if item_kind in _SCALARS else \
            8 if item_kind == _STRING else 12
        if count * smallest > self.left():
            raise self.fail(f"{key} claims {count} items, more than the file holds")
        if self.keep_arrays is not None and count > self.keep_arrays:
            self.skip(item_kind, count, key, depth)
            return count  # long arrays (vocabulary, merges): only their length is kept
        return [self.value(item_kind, key, depth + 1) for _ in range(count)]

    def skip(self, kind: int, count: int, key: str, depth: int) -> None:
        if kind in _SCALARS:
            self.take_skip(struct.calcsize(_SCALARS[kind]) * count)
            return
        for _ in range(count):
            self.value(kind, key, depth + 1)

    def take_skip(self, n: int) -> None:
        if n > self.left():
            raise self.fail(f"{n} bytes are needed but only {self.left()} remain")
        self.handle.seek(n, 1)

    def tensor(self, sizes: dict[int, tuple[int, int]]) -> TensorInfo:
        name = self.string("a tensor name")
        (n_dims,) = self.unpack("<I")
        if not 1 <= n_dims <= MAX_DIMS:
            raise self.fail(f"tensor {name[:80]} has {n_dims} dimensions (1 to {MAX_DIMS})")
        dims = self.unpack(f"<{n_dims}Q")
        ggml_type, offset = self.unpack("<IQ")
        elements = 1
        for dim in dims:
            elements *= dim
            if elements > MAX_ELEMENTS:
                raise self.fail(f"tensor {name[:80]} has dimensions {list(dims)}, far more"
                                " elements than any model")
        block, block_bytes = sizes.get(ggml_type, (1, 0))  # unknown type: offset check only
        return TensorInfo(name, ggml_type, tuple(dims), offset, elements,
                          elements // block * block_bytes)


def read_header(path: Path | str, keep_arrays: int | None = None) -> GGUFHeader:
    """Read and check a GGUF header; arrays longer than ``keep_arrays`` come back as their
    length. Raises :class:`GGUFFileError` saying what is wrong with the file."""
    path = Path(path)
    if not path.exists():
        raise GGUFFileError(f"{path} does not exist")
    if not path.is_file():
        raise GGUFFileError(f"{path} is not a file")
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            magic = handle.read(4)
            if magic != MAGIC:
                raise GGUFFileError(f"{path.name} is not a GGUF file (it starts with {magic!r},"
                                    " not b'GGUF')")
            return _read_body(_Reader(handle, size, path.name, keep_arrays), path)
    except OSError as error:
        raise GGUFFileError(f"{path}: cannot be read ({error.strerror})") from None


def _read_body(reader: _Reader, path: Path) -> GGUFHeader:
    version, n_tensors, n_kv = reader.unpack("<IQQ")
    if version not in (2, 3):
        raise GGUFFileError(f"{path.name}: GGUF version {version} is not supported (2 or 3)")
    if n_kv * 13 > reader.left() or n_tensors * 24 > reader.left():
        raise reader.fail(f"it claims {n_kv} metadata keys and {n_tensors} tensors, more than"
                          " the file holds")
    metadata: dict[str, Any] = {}
    for _ in range(n_kv):
        key = reader.string("a metadata key")
        (kind,) = reader.unpack("<I")
        metadata[key] = reader.value(kind, key)
    sizes = _block_sizes()
    tensors = [reader.tensor(sizes) for _ in range(n_tensors)]
    alignment = metadata.get("general.alignment", 32)
    if not isinstance(alignment, int) or isinstance(alignment, bool) or alignment <= 0 \
            or alignment & (alignment - 1):
        raise GGUFFileError(f"{path.name}: general.alignment is {alignment!r}, not a power of"
                            " two; the file is damaged or was not written by a GGUF writer")
    data_start = -(-reader.handle.tell() // alignment) * alignment
    return GGUFHeader(path, version, reader.size, data_start, metadata, tensors)
