"""The CUDA extras (bitsandbytes for QLoRA, Liger kernels) reach CUDA machines by every route:
pyproject's ``cuda`` extra, the installers' plan, and ``make run``'s choice of extras."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from studio.system.install_plan import CUDA_EXTRAS

REPO = Path(__file__).resolve().parent.parent


def test_the_cuda_extra_lists_the_plans_packages() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = [re.split(r"[<>=!~ ]", spec, maxsplit=1)[0]
             for spec in project["optional-dependencies"]["cuda"]]
    assert names == list(CUDA_EXTRAS)


def _make_install_line(tmp_path: Path, **variables: str) -> str:
    args = [f"{k}={v}" for k, v in variables.items()]
    out = subprocess.run(["make", "-n", "setup", f"VENV={tmp_path / 'venv'}", *args], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    (line,) = [x for x in out.splitlines() if "pip install --quiet -e" in x]
    return line


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_adds_the_cuda_extra_for_a_cuda_build(tmp_path: Path) -> None:
    assert '-e ".[dev,cuda]"' in _make_install_line(tmp_path, LLAMA_CMAKE_ARGS="-DGGML_CUDA=on")
    if shutil.which("nvidia-smi") is None:  # this machine: no GPU, no CUDA flags
        assert '-e ".[dev]"' in _make_install_line(tmp_path)
    assert '-e ".[dev]"' in _make_install_line(tmp_path, LLAMA_CMAKE_ARGS="-DGGML_CUDA=on",
                                                EXTRAS="dev")
