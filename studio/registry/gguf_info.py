"""What a GGUF file holds, read from its header alone: architecture, parameters, quantization,
context length, tokenizer and chat template, and whether the file is complete.

This is plain Python over the file (the ``gguf`` package only lends its type tables), so the
GUI can show a list of GGUFs before anything is converted. ``gguf.GGUFReader`` would do too,
but it decodes the whole 49k-token vocabulary into numpy arrays (5 s for SmolLM2 here); this
reader skips over arrays and takes about 0.1 s.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from studio.errors import StudioError

MAGIC = b"GGUF"
# GGUF value types: id -> struct format of one scalar (8 = string, 9 = array handled apart).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
            10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
# Arrays we keep (short ones); the vocabulary and merges are only counted.
_KEEP_ARRAY_MAX = 64
ALIGNMENT_KEY = "general.alignment"
# Quantizations of 4 bits or fewer per weight (by name: sizes mix in 8-bit embeddings).
LOW_BIT_PREFIXES = ("Q4", "Q3", "Q2", "IQ", "TQ")


class GGUFInfoError(StudioError):
    """A file that is not a readable, complete GGUF model."""


@dataclass(frozen=True)
class GGUFInfo:
    """The header of one GGUF file, as the add-model list shows it."""

    path: str
    architecture: str
    name: str
    quant: str
    params: int
    size_bytes: int
    context_length: int | None
    tokenizer_model: str | None
    tokenizer_pre: str | None
    vocab_size: int
    has_chat_template: bool
    complete: bool

    @property
    def bits_per_weight(self) -> float:
        return self.size_bytes * 8 / self.params if self.params else 0.0

    @property
    def low_bit(self) -> bool:
        """4-bit or smaller: tuning its dequantized weights costs some quality."""
        return self.quant.startswith(LOW_BIT_PREFIXES)

    def summary(self) -> str:
        ctx = f"ctx {self.context_length}" if self.context_length else "ctx ?"
        return (f"{self.architecture}, {self.params / 1e6:.0f}M params, {self.quant},"
                f" {self.size_bytes / 2**20:.0f} MiB, {ctx}")


def read_gguf_info(path: Path | str) -> GGUFInfo:
    """Read a GGUF file's header; :class:`GGUFInfoError` says what is wrong with the file."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            meta, tensors, data_start = _read_header(handle)
    except (struct.error, UnicodeDecodeError, EOFError) as error:
        raise GGUFInfoError(f"{file}: not a complete GGUF header ({error}); the file is"
                            " truncated or damaged: download it again") from None
    except OSError as error:
        raise GGUFInfoError(f"{file}: cannot be read ({error.strerror})") from None
    size = file.stat().st_size
    needed = data_start + max((end for _, end, _ in tensors), default=0)
    arch = str(meta.get("general.architecture", ""))
    if not arch:
        raise GGUFInfoError(f"{file}: the header names no general.architecture")
    return GGUFInfo(
        path=str(file.resolve()), architecture=arch, name=str(meta.get("general.name", file.stem)),
        quant=_quant_name(meta), params=sum(n for _, _, n in tensors), size_bytes=size,
        context_length=_int_or_none(meta.get(f"{arch}.context_length")),
        tokenizer_model=_str_or_none(meta.get("tokenizer.ggml.model")),
        tokenizer_pre=_str_or_none(meta.get("tokenizer.ggml.pre")),
        vocab_size=int(meta.get("tokenizer.ggml.tokens", 0) or 0),
        has_chat_template=bool(meta.get("tokenizer.chat_template")), complete=size >= needed)


def _read_header(handle: IO[bytes]) -> tuple[dict[str, Any], list[tuple[str, int, int]], int]:
    if handle.read(4) != MAGIC:
        raise GGUFInfoError(f"{getattr(handle, 'name', 'file')}: not a GGUF file (wrong magic)")
    version, n_tensors, n_kv = _unpack(handle, "<IQQ")
    if version < 2:
        raise GGUFInfoError(f"GGUF version {version} is too old; convert the model again")
    meta = {_string(handle): _value(handle) for _ in range(n_kv)}
    tensors = [_tensor(handle) for _ in range(n_tensors)]
    alignment = int(meta.get(ALIGNMENT_KEY, 32))
    data_start = -(-handle.tell() // alignment) * alignment
    return meta, tensors, data_start


def _tensor(handle: IO[bytes]) -> tuple[str, int, int]:
    """(name, end offset of its data, element count)."""
    name = _string(handle)
    (n_dims,) = _unpack(handle, "<I")
    dims = _unpack(handle, f"<{n_dims}Q")
    kind, offset = _unpack(handle, "<IQ")
    # Imported here: the gguf package imports numpy (0.2-0.4 s), and the model registry,
    # which the GUI imports long before it reads any GGUF, imports this module.
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    elements = 1
    for dim in dims:
        elements *= dim
    block, block_bytes = GGML_QUANT_SIZES.get(GGMLQuantizationType(kind), (1, 0))
    return name, offset + elements // block * block_bytes, elements


def _value(handle: IO[bytes]) -> Any:
    (kind,) = _unpack(handle, "<I")
    return _typed(handle, kind)


def _typed(handle: IO[bytes], kind: int) -> Any:
    if kind == _STRING:
        return _string(handle)
    if kind == _ARRAY:
        item_kind, count = _unpack(handle, "<IQ")
        if count > _KEEP_ARRAY_MAX:
            _skip_array(handle, item_kind, count)
            return count  # long arrays (vocabulary, merges): only their length matters here
        return [_typed(handle, item_kind) for _ in range(count)]
    if kind not in _SCALARS:
        raise GGUFInfoError(f"unknown GGUF value type {kind}")
    return _unpack(handle, _SCALARS[kind])[0]


def _skip_array(handle: IO[bytes], kind: int, count: int) -> None:
    if kind in _SCALARS:
        handle.seek(struct.calcsize(_SCALARS[kind]) * count, 1)
        return
    for _ in range(count):
        _typed(handle, kind)


def _string(handle: IO[bytes]) -> str:
    (length,) = _unpack(handle, "<Q")
    raw = handle.read(length)
    if len(raw) != length:
        raise EOFError("string cut short")
    return raw.decode("utf-8")


def _unpack(handle: IO[bytes], fmt: str) -> tuple[Any, ...]:
    size = struct.calcsize(fmt)
    raw = handle.read(size)
    if len(raw) != size:
        raise EOFError("header cut short")
    return struct.unpack(fmt, raw)


def _quant_name(meta: dict[str, Any]) -> str:
    from gguf.constants import LlamaFileType

    file_type = meta.get("general.file_type")
    if isinstance(file_type, int):
        try:
            return LlamaFileType(file_type).name.removeprefix("MOSTLY_").replace("ALL_", "")
        except ValueError:
            pass  # a newer file type than our table: say so rather than guess
    return "unknown"


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
