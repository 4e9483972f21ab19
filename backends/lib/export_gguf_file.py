"""Read a GGUF file's header in plain Python: metadata, tensor table, and whether it is whole.

llama.cpp refuses a damaged file with a bare "failed to load model"; reading the header first
lets the chat worker and the export say *what* is wrong (not a GGUF, truncated, unknown
version). No llama_cpp import: this also runs where only the file is at hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.registry.gguf_header import GGUFFileError, read_header

__all__ = ["GGUFFileError", "GGUFInfo", "read_gguf"]


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
    """Read and check a GGUF file (through the one reader with limits,
    :func:`studio.registry.gguf_header.read_header`); raises :class:`GGUFFileError` saying
    what is wrong, a file whose tensor data is cut short included."""
    header = read_header(path)
    if header.data_end > header.size:
        raise GGUFFileError(
            f"{header.path.name} is truncated: its tensors need {header.data_end} bytes but the"
            f" file has {header.size}; export or download it again")
    return GGUFInfo(header.path, header.version, header.metadata, len(header.tensors),
                    header.size)
