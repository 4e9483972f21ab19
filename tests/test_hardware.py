"""Hardware detection and the install plan, from recorded nvidia-smi output and platform facts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from studio.system.hardware import (
    DEFAULT_TORCH_SPEC,
    LLAMA_BASE_CMAKE_ARGS,
    Gpu,
    Hardware,
    InstallPlan,
    Runner,
    cuda_variant,
    detect,
    parse_gpu_query,
    parse_smi_header,
    plan_install,
    toolchain_problems,
)

REPO = Path(__file__).resolve().parent.parent
QUERY = ["nvidia-smi", "--query-gpu=name,memory.total,compute_cap", "--format=csv,noheader,nounits"]
QUERY_OLD = ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]


def smi_header(driver: str, cuda: str) -> str:
    """The top of plain ``nvidia-smi`` output, as drivers 470-580 print it."""
    return f"""Sat Nov 23 20:00:00 2025
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI {driver:<22} Driver Version: {driver:<14} CUDA Version: {cuda:<8} |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
|=========================================+========================+======================|
|   0  NVIDIA GeForce RTX 4090        Off |   00000000:01:00.0  On |                  Off |
|  0%   38C    P8             21W /  450W |     512MiB /  24564MiB |      2%      Default |
+-----------------------------------------+------------------------+----------------------+
"""


CUDA_12_4 = {("nvidia-smi",): (0, smi_header("550.54.15", "12.4")),
             tuple(QUERY): (0, "NVIDIA GeForce RTX 4090, 24564, 8.9\n")}
CUDA_12_8 = {("nvidia-smi",): (0, smi_header("570.86.10", "12.8")),
             tuple(QUERY): (0, "NVIDIA GeForce RTX 5090, 32607, 12.0\n")}
CUDA_13_0 = {("nvidia-smi",): (0, smi_header("580.95.05", "13.0")),
             tuple(QUERY): (0, "NVIDIA H200, 143771, 9.0\nNVIDIA H200, 143771, 9.0\n")}
CUDA_13_PASCAL = {("nvidia-smi",): (0, smi_header("580.95.05", "13.0")),
                  tuple(QUERY): (0, "Tesla P100-PCIE-16GB, 16384, 6.0\n")}
CUDA_11_4 = {("nvidia-smi",): (0, smi_header("470.182.03", "11.4")),
             tuple(QUERY): (2, 'Field "compute_cap" is not a valid field to query.\n'),
             tuple(QUERY_OLD): (0, "Tesla K80, 11441\n")}
NO_DRIVER = {("nvidia-smi",): (9, "NVIDIA-SMI has failed because it couldn't communicate with the"
                                  " NVIDIA driver. Make sure that the latest NVIDIA driver is"
                                  " installed and running.\n")}
WINDOWS_CUDA = {("nvidia-smi",): (0, smi_header("560.94", "12.6")),
                tuple(QUERY): (0, "NVIDIA GeForce RTX 3060, 12288, 8.6\r\n")}
APPLE_M2 = {("sysctl", "-n", "machdep.cpu.brand_string"): (0, "Apple M2 Pro\n"),
            ("sysctl", "-n", "sysctl.proc_translated"): (0, "0\n")}
ROSETTA = {("sysctl", "-n", "machdep.cpu.brand_string"): (0, "Apple M1\n"),
           ("sysctl", "-n", "sysctl.proc_translated"): (0, "1\n")}
MAC_INTEL = {("sysctl", "-n", "machdep.cpu.brand_string"): (0, "Intel(R) Core(TM) i7-9750H\n"),
             ("sysctl", "-n", "sysctl.proc_translated"): (1, "unknown oid\n")}


Outputs = dict[tuple[str, ...], tuple[int, str]]


def recorded(outputs: Outputs) -> Runner:
    """A runner that answers from recorded output; unknown programs are 'not installed'."""

    def run(command: Sequence[str]) -> tuple[int, str] | None:
        return outputs.get(tuple(command))

    return run


def which_all(name: str) -> str | None:
    return f"/usr/bin/{name}"


def which_none(name: str) -> str | None:
    return None


def plan_for(outputs: Outputs, system: str, machine: str = "x86_64",
             env: dict[str, str] | None = None, nvcc: bool = True) -> tuple[Hardware, InstallPlan]:
    hw = detect(recorded(outputs), system, machine)
    return hw, plan_install(hw, env or {}, cuda_compiler=nvcc)


def test_header_parsing() -> None:
    assert parse_smi_header(smi_header("550.54.15", "12.4")) == ("550.54.15", (12, 4))
    assert parse_smi_header("NVIDIA-SMI has failed because ...") is None


def test_gpu_query_parsing_tolerates_unknown_fields() -> None:
    gpus = parse_gpu_query("NVIDIA A100-SXM4-80GB, 81920, 8.0\nNVIDIA T4, [N/A], [N/A]\n\n")
    assert gpus == (Gpu("NVIDIA A100-SXM4-80GB", 81920, (8, 0)), Gpu("NVIDIA T4", None, None))


def test_cuda_12_4_linux_gets_cu126_torch_and_cuda_llama() -> None:
    hw, plan = plan_for(CUDA_12_4, "Linux")
    assert hw.accelerator == "cuda"
    assert hw.nvidia is not None
    assert hw.nvidia.gpus == (Gpu("NVIDIA GeForce RTX 4090", 24564, (8, 9)),)
    assert "RTX 4090 (24 GiB)" in hw.describe()
    assert "CUDA 12.4" in hw.describe()
    assert plan.torch_variant == "cu126"
    assert plan.torch_index_url == "https://download.pytorch.org/whl/cu126"
    assert plan.llama_cmake_args == f"{LLAMA_BASE_CMAKE_ARGS} -DGGML_CUDA=on"
    assert plan.llama_backend == "cuda"
    assert plan.min_free_gb == 10
    # QLoRA's 4-bit base and CUDA's fused training kernels
    assert plan.extra_packages == ("bitsandbytes", "liger-kernel")


def test_cuda_12_8_gets_cu128() -> None:
    _, plan = plan_for(CUDA_12_8, "Linux")
    assert plan.torch_variant == "cu128"


def test_cuda_13_gets_cu130_with_every_gpu_listed() -> None:
    hw, plan = plan_for(CUDA_13_0, "Linux")
    assert hw.nvidia is not None
    assert len(hw.nvidia.gpus) == 2
    assert plan.torch_variant == "cu130"
    assert plan.accelerator == "cuda"


def test_cuda_13_driver_with_a_pre_turing_gpu_stays_on_cu126() -> None:
    _, plan = plan_for(CUDA_13_PASCAL, "Linux")
    assert plan.torch_variant == "cu126"


def test_driver_too_old_falls_back_to_cpu_with_a_note() -> None:
    hw, plan = plan_for(CUDA_11_4, "Linux")
    assert hw.nvidia is not None
    assert hw.nvidia.gpus == (Gpu("Tesla K80", 11441, None),)  # asked again without compute_cap
    assert plan.accelerator == "cpu"
    assert plan.torch_variant == "cpu"
    assert plan.llama_backend == "cpu"
    assert any("CUDA 11.4" in note and "Update the driver" in note for note in plan.notes)
    assert plan.extra_packages == ()


def test_missing_cuda_toolkit_builds_llama_for_cpu_but_keeps_cuda_torch() -> None:
    _, plan = plan_for(CUDA_12_4, "Linux", nvcc=False)
    assert plan.torch_variant == "cu126"
    assert plan.llama_backend == "cpu"
    assert "-DGGML_CUDA=on" not in plan.llama_cmake_args
    assert any("nvcc" in note for note in plan.notes)


def test_no_nvidia_smi_means_cpu_torch_from_the_cpu_index_on_linux() -> None:
    hw, plan = plan_for({}, "Linux")
    assert hw.nvidia is None
    assert hw.nvidia_problem is None
    assert plan.accelerator == "cpu"
    assert plan.torch_index_url == "https://download.pytorch.org/whl/cpu"
    assert plan.llama_cmake_args == LLAMA_BASE_CMAKE_ARGS
    assert plan.torch_spec == DEFAULT_TORCH_SPEC
    assert plan.notes == ()


def test_driver_not_loaded_is_reported() -> None:
    hw, plan = plan_for(NO_DRIVER, "Linux")
    assert hw.accelerator == "cpu"
    assert hw.nvidia_problem is not None
    assert "couldn't communicate with the NVIDIA driver" in hw.nvidia_problem
    assert any("Fix the driver" in note for note in plan.notes)


def test_apple_silicon_gets_pypi_torch_and_metal() -> None:
    hw, plan = plan_for(APPLE_M2, "Darwin", "arm64")
    assert hw.accelerator == "mps"
    assert hw.apple_chip == "Apple M2 Pro"
    assert "Apple M2 Pro" in hw.describe()
    assert plan.accelerator == "mps"
    assert plan.torch_index_url is None
    assert plan.llama_cmake_args.endswith("-DGGML_METAL=on")
    assert plan.llama_backend == "metal"


def test_rosetta_python_is_seen_through() -> None:
    hw, plan = plan_for(ROSETTA, "Darwin", "x86_64")
    assert hw.rosetta
    assert hw.machine == "arm64"
    assert any("Rosetta" in note for note in plan.notes)


def test_intel_mac_builds_without_metal() -> None:
    hw, plan = plan_for(MAC_INTEL, "Darwin", "x86_64")
    assert hw.accelerator == "cpu"
    assert plan.llama_cmake_args.endswith("-DGGML_METAL=off")


def test_windows_with_nvidia() -> None:
    hw, plan = plan_for(WINDOWS_CUDA, "Windows", "AMD64")
    assert hw.machine == "x86_64"
    assert plan.torch_variant == "cu126"
    assert plan.llama_backend == "cuda"


def test_windows_without_gpu_uses_pypi_torch() -> None:
    _, plan = plan_for({}, "Windows", "AMD64")
    assert plan.torch_index_url is None
    assert plan.torch_variant == "pypi"
    assert plan.llama_cmake_args == LLAMA_BASE_CMAKE_ARGS


def test_environment_overrides() -> None:
    env = {"TUNING_STUDIO_TORCH_SPEC": "torch==2.12.1", "TUNING_STUDIO_TORCH_INDEX_URL": "",
           "TUNING_STUDIO_LLAMA_CMAKE_ARGS": "-DGGML_VULKAN=on", "TUNING_STUDIO_MIN_FREE_GB": "2.5"}
    _, plan = plan_for(CUDA_12_4, "Linux", env=env)
    assert plan.torch_spec == "torch==2.12.1"
    assert plan.torch_index_url is None
    assert plan.llama_cmake_args == "-DGGML_VULKAN=on"
    assert plan.min_free_gb == 2.5


DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n'
UBUNTU = 'ID=ubuntu\nID_LIKE=debian\n'
FEDORA = 'ID=fedora\n'
ROCKY = 'ID="rocky"\nID_LIKE="rhel centos fedora"\n'


@pytest.mark.parametrize(("os_release", "package"), [
    (DEBIAN, "apt-get install build-essential"),
    (UBUNTU, "apt-get install build-essential"),
    (FEDORA, "dnf install gcc gcc-c++ make"),
    (ROCKY, "dnf install gcc gcc-c++ make"),
    ("ID=nixos\n", "with your package manager"),
])
def test_missing_compiler_names_the_package(os_release: str, package: str) -> None:
    problems = toolchain_problems("Linux", which_none, recorded({}), os_release)
    fatal = [p for p in problems if p.fatal]
    assert len(fatal) == 1
    assert package in fatal[0].fix
    cmake = [p for p in problems if p.tool == "cmake"]
    assert len(cmake) == 1
    assert not cmake[0].fatal  # the build fetches cmake from PyPI by itself


def test_complete_linux_toolchain_has_no_problems() -> None:
    assert toolchain_problems("Linux", which_all, recorded({}), DEBIAN) == []


def test_macos_without_command_line_tools() -> None:
    problems = toolchain_problems("Darwin", which_none, recorded({}))
    assert problems[0].fix == "xcode-select --install"
    assert problems[0].fatal
    assert any(p.fix == "brew install cmake" for p in problems)
    with_tools = recorded({("xcode-select", "-p"): (0, "/Library/Developer/CommandLineTools\n")})
    assert toolchain_problems("Darwin", which_all, with_tools) == []


def test_windows_without_msvc() -> None:
    problems = toolchain_problems("Windows", which_none, recorded({}))
    assert problems[0].fatal
    assert "VisualStudio.2022.BuildTools" in problems[0].fix


def test_shell_output_round_trips_through_bash() -> None:
    """The installers eval ``--shell``; quoting must survive spaces and newlines."""
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "TUNING_STUDIO_LLAMA_CMAKE_ARGS": "-DA=1 -DB='x y'"}
    script = (f'eval "$({sys.executable} -m studio.system.hardware --shell)"; '
              'printf "%s|%s" "$TS_LLAMA_CMAKE_ARGS" "$TS_TORCH_SPEC"')
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out == f"-DA=1 -DB='x y'|{DEFAULT_TORCH_SPEC}"


def test_hardware_module_uses_only_the_standard_library() -> None:
    """The installers run it with the system Python, before any package is installed."""
    code = ("import sys; before = set(sys.modules); import studio.system.hardware; "
            "extra = {m.split('.')[0] for m in set(sys.modules) - before}; "
            "print(sorted(extra - set(sys.stdlib_module_names) - {'studio'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(("driver", "compute", "variant"), [
    ((13, 0), (9, 0), "cu130"),
    ((13, 0), (7, 0), "cu128"),  # Volta: no CUDA 13 kernels
    ((13, 0), (6, 1), "cu126"),  # Pascal: only the cu126 build has kernels for it
    ((12, 9), (8, 6), "cu128"),
    ((12, 0), (8, 6), "cu126"),  # minor-version compatibility
    ((11, 8), (8, 6), None),
])
def test_cuda_variant_table(driver: tuple[int, int], compute: tuple[int, int],
                            variant: str | None) -> None:
    assert cuda_variant(driver, [Gpu("GPU", 8192, compute)]) == variant
