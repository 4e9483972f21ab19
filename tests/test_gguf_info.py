"""Reading a GGUF's header without torch: what the add-model list shows, and the refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from studio.registry.gguf_import import GGUFImportError, check_importable
from studio.registry.gguf_info import GGUFInfoError, read_gguf_info


def write_gguf(path: Path, arch: str, tokenizer: bool, template: bool) -> Path:
    """A minimal GGUF with one tensor, written by the gguf package's own writer."""
    from gguf import GGUFWriter

    writer = GGUFWriter(str(path), arch)
    writer.add_context_length(256)
    if tokenizer:
        writer.add_tokenizer_model("gpt2")
        writer.add_token_list([f"t{i}" for i in range(100)])
    if template:
        writer.add_chat_template("{{ messages }}")
    writer.add_tensor("w", np.zeros((4, 32), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_real_gguf_header_is_read_without_torch(real_gguf: Path) -> None:
    code = ("import sys; from studio.registry.gguf_info import read_gguf_info as r;"
            f" i = r({str(real_gguf)!r}); assert 'torch' not in sys.modules;"
            " print(i.architecture, i.quant, i.context_length, i.has_chat_template,"
            " i.complete, i.low_bit, i.tokenizer_pre, i.params)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    assert out == ["llama", "Q4_1", "8192", "True", "True", "True", "smollm", "134515008"]


def test_a_low_bit_gguf_is_accepted_with_a_plain_warning(real_gguf: Path) -> None:
    warnings = check_importable(read_gguf_info(real_gguf))
    assert warnings == ["tuning a dequantized Q4_1 model: expect slightly lower quality than"
                        " from the original weights"]


def test_truncated_files_are_refused(demo_gguf: Path, tmp_path: Path) -> None:
    data = demo_gguf.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: len(data) // 2])  # header intact, weights missing
    info = read_gguf_info(cut)
    assert not info.complete
    with pytest.raises(GGUFImportError, match="truncated"):
        check_importable(info)
    cut.write_bytes(data[:200])  # cut inside the header
    with pytest.raises(GGUFInfoError, match="truncated or damaged"):
        read_gguf_info(cut)


def test_not_a_gguf(tmp_path: Path) -> None:
    other = tmp_path / "model.gguf"
    other.write_bytes(b"PK\x03\x04 not a gguf at all")
    with pytest.raises(GGUFInfoError, match="not a GGUF file"):
        read_gguf_info(other)


@pytest.mark.parametrize(("arch", "tokenizer", "template", "message"), [
    ("rwkv6", True, True, "architecture 'rwkv6' cannot be converted"),
    ("llama", False, True, "carries no tokenizer"),
    ("llama", True, False, "carries no chat template"),
])
def test_unconvertible_ggufs_say_why(tmp_path: Path, arch: str, tokenizer: bool,
                                     template: bool, message: str) -> None:
    info = read_gguf_info(write_gguf(tmp_path / "m.gguf", arch, tokenizer, template))
    assert info.complete
    assert info.context_length == 256
    with pytest.raises(GGUFImportError, match=message):
        check_importable(info)
