"""Export: llama.cpp tokenizes the rendered chat template exactly as transformers does (no BOS
and no space-prefix drift), on the tiny Llama and Qwen2 demos and on the real SmolLM2."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from backends.lib.export_gguf import convert_model
from backends.lib.export_gguf_file import read_gguf
from backends.lib.export_tokenizer import (
    SPACE_PREFIX_KEY,
    fix_space_prefix,
    hf_adds_no_prefix_space,
)
from studio.registry.converter import convert_command, converter_env, prepare_converter

CHATS = [
    [{"role": "user", "content": "Hello world! What is 12 plus 30?"},
     {"role": "assistant", "content": "Sure: 42.\n\n7 days later, café ünïcode."}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": " leading space"}],
]


def _never() -> None:
    return None


def _same_ids(tokenizer: Any, gguf: Path) -> list[str]:
    """The rendered chats whose ids differ; each side adds BOS only if its own config says so."""
    from llama_cpp import Llama

    llm = Llama(str(gguf), vocab_only=True, verbose=False)
    try:
        texts = [tokenizer.apply_chat_template(chat, tokenize=False,
                                               add_generation_prompt=chat[-1]["role"] == "user")
                 for chat in CHATS]
        return [t for t in texts
                if tokenizer(t)["input_ids"] != llm.tokenize(t.encode(), add_bos=True,
                                                             special=True)]
    finally:
        llm.close()


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_demo_exports_tokenize_like_transformers(arch: str, demo_model_dir: Path,
                                                 tmp_path: Path) -> None:
    from transformers import LlamaTokenizer

    from backends.demo_model import build_demo_model

    prepare_converter()
    model_dir = demo_model_dir if arch == "llama" else build_demo_model(tmp_path / arch,
                                                                        arch=arch)
    gguf = convert_model(model_dir, tmp_path / "m.gguf", tmp_path / "export.log", _never)
    assert read_gguf(gguf).metadata[SPACE_PREFIX_KEY] is False
    # transformers maps model type qwen2 to its byte-level tokenizer: load the demo's own.
    assert _same_ids(LlamaTokenizer.from_pretrained(model_dir), gguf) == []


def test_the_qwen2_fix_is_what_removes_the_drift(tmp_path: Path) -> None:
    from transformers import LlamaTokenizer

    from backends.demo_model import build_demo_model

    prepare_converter()
    model_dir = build_demo_model(tmp_path / "qwen2", arch="qwen2")
    gguf = tmp_path / "raw.gguf"
    subprocess.run(convert_command(model_dir, gguf, "f16"), env=converter_env(), check=True,
                   capture_output=True, timeout=300)
    tokenizer = LlamaTokenizer.from_pretrained(model_dir)
    assert SPACE_PREFIX_KEY not in read_gguf(gguf).metadata
    assert len(_same_ids(tokenizer, gguf)) == len(CHATS)  # the converter alone drifts
    assert fix_space_prefix(gguf, model_dir, tmp_path / "log")
    assert _same_ids(tokenizer, gguf) == []
    assert not fix_space_prefix(gguf, model_dir, tmp_path / "log")  # once is enough


def test_smollm2_export_tokenizes_like_transformers(real_model_dir: Path,
                                                    tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    prepare_converter()
    gguf = tmp_path / "vocab.gguf"
    # The tokenizer part of an export only (--vocab-only): seconds instead of a full convert.
    subprocess.run([*convert_command(real_model_dir, gguf, "f16"), "--vocab-only"],
                   env=converter_env(), check=True, capture_output=True, timeout=300)
    assert not hf_adds_no_prefix_space(real_model_dir)  # byte-level BPE: nothing to fix
    tokenizer = AutoTokenizer.from_pretrained(real_model_dir)
    assert _same_ids(tokenizer, gguf) == []
    from llama_cpp import Llama

    llm = Llama(str(gguf), vocab_only=True, verbose=False)
    try:
        assert llm.metadata["tokenizer.ggml.model"] == "gpt2"
        assert llm.metadata["tokenizer.ggml.pre"] == "smollm"
        assert llm.metadata["tokenizer.ggml.add_bos_token"] == "false"
    finally:
        llm.close()
