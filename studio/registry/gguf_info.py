"""What a GGUF file holds, read from its header alone: architecture, parameters, quantization,
context length, tokenizer and chat template, and whether the file is complete.

The header is read by :func:`studio.registry.gguf_header.read_header`, the one reader with
limits that the chat worker uses too, so a hostile file gets the same clean message here.
``gguf.GGUFReader`` would do too, but it decodes the whole 49k-token vocabulary into numpy
arrays (5 s for SmolLM2 here); long arrays are skipped here, about 0.1 s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.registry.gguf_header import GGUFFileError, read_header

# Arrays we keep (short ones); the vocabulary and merges are only counted.
_KEEP_ARRAY_MAX = 64
# Quantizations of 4 bits or fewer per weight (by name: sizes mix in 8-bit embeddings).
LOW_BIT_PREFIXES = ("Q4", "Q3", "Q2", "IQ", "TQ")


class GGUFInfoError(GGUFFileError):
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
        header = read_header(file, keep_arrays=_KEEP_ARRAY_MAX)
    except GGUFFileError as error:
        raise GGUFInfoError(str(error)) from None
    meta = header.metadata
    arch = str(meta.get("general.architecture", ""))
    if not arch:
        raise GGUFInfoError(f"{file}: the header names no general.architecture")
    tokens = meta.get("tokenizer.ggml.tokens", 0)
    return GGUFInfo(
        path=str(file.resolve()), architecture=arch, name=str(meta.get("general.name", file.stem)),
        quant=_quant_name(meta), params=sum(t.elements for t in header.tensors),
        size_bytes=header.size, context_length=_int_or_none(meta.get(f"{arch}.context_length")),
        tokenizer_model=_str_or_none(meta.get("tokenizer.ggml.model")),
        tokenizer_pre=_str_or_none(meta.get("tokenizer.ggml.pre")),
        vocab_size=len(tokens) if isinstance(tokens, list) else int(tokens or 0),
        has_chat_template=bool(meta.get("tokenizer.chat_template")),
        complete=header.size >= header.data_end)


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
