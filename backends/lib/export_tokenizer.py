"""Export, after the converter: make llama.cpp tokenize like transformers (no space prefix drift).

llama.cpp puts a space before the text of a SentencePiece ("llama" tokenizer model) GGUF unless
its ``tokenizer.ggml.add_space_prefix`` says false. The converter writes that key from
``tokenizer_config.json``'s ``add_prefix_space`` for Llama models only; for others with a
SentencePiece tokenizer (the Qwen2-shaped demo) it leaves it out, and the GGUF's ids then
differ from transformers' from the first token of every chat. So when the Hugging Face folder
says "no prefix space" and the GGUF does not, the key is added by rewriting the GGUF with the
gguf-py of the same llama.cpp (its ``gguf_new_metadata`` copy), in the converter's environment.
Byte-level BPE models (SmolLM2, Qwen, Llama 3) have no such flag and are left as they are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from backends.lib.export_gguf_file import read_gguf
from backends.lib.export_merge import ExportError
from studio.registry.converter import converter_env

SPACE_PREFIX_KEY = "tokenizer.ggml.add_space_prefix"
# Run with the sdist's gguf-py first on the path (converter_env): the registry's gguf package
# does not match the converter's files.
_REWRITE = """
import sys
import gguf
from gguf.scripts.gguf_new_metadata import MetadataDetails, copy_with_new_metadata
source, target, key = sys.argv[1:4]
reader = gguf.GGUFReader(source, "r")
arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
writer = gguf.GGUFWriter(target, arch=arch, endianess=reader.endianess)
copy_with_new_metadata(reader, writer, {key: MetadataDetails(gguf.GGUFValueType.BOOL, False)},
                       [])
"""


def hf_adds_no_prefix_space(model_dir: Path) -> bool:
    """Whether the folder's tokenizer says explicitly that it adds no space prefix."""
    try:
        config = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("add_prefix_space") is False


def needs_space_prefix_fix(gguf: Path, model_dir: Path) -> bool:
    metadata = read_gguf(gguf).metadata
    return (metadata.get("tokenizer.ggml.model") == "llama"
            and SPACE_PREFIX_KEY not in metadata and hf_adds_no_prefix_space(model_dir))


def fix_space_prefix(gguf: Path, model_dir: Path, log_path: Path) -> bool:
    """Add ``add_space_prefix = false`` to ``gguf`` in place when needed; True if it did."""
    if not needs_space_prefix_fix(gguf, model_dir):
        return False
    rewritten = gguf.with_name(gguf.name + ".prefix")
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"$ gguf_new_metadata {gguf.name}: {SPACE_PREFIX_KEY} = false\n")
        log.flush()
        result = subprocess.run([sys.executable, "-c", _REWRITE, str(gguf), str(rewritten),
                                 SPACE_PREFIX_KEY], env=converter_env(), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False)
    if result.returncode != 0:
        rewritten.unlink(missing_ok=True)
        raise ExportError(f"could not record {SPACE_PREFIX_KEY} in {gguf.name} (llama.cpp would"
                          f" tokenize with a space prefix transformers never adds). Log:"
                          f" {log_path}")
    read_gguf(rewritten)  # whole and readable before it replaces the converter's file
    os.replace(rewritten, gguf)
    return True
