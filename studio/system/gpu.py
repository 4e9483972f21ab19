"""What compute this machine has: the platform, Apple Silicon, NVIDIA's driver and GPUs.

Standard library only (the installers run it with the system Python, see
:mod:`studio.system.hardware`). Parsing is done by pure functions over recorded command
output; ``detect`` is the one place that runs commands.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Runner = Callable[[Sequence[str]], "tuple[int, str] | None"]


@dataclass(frozen=True)
class Gpu:
    """One NVIDIA GPU as ``nvidia-smi`` reports it."""

    name: str
    memory_mib: int | None = None
    compute_capability: tuple[int, int] | None = None


@dataclass(frozen=True)
class NvidiaDriver:
    """The driver version, the newest CUDA version it supports, and its GPUs."""

    driver_version: str
    cuda_version: tuple[int, int]
    gpus: tuple[Gpu, ...] = ()


@dataclass(frozen=True)
class Hardware:
    """The platform facts the install plan depends on."""

    system: str  # platform.system(): "Linux", "Darwin" or "Windows"
    machine: str  # normalised: "x86_64" or "arm64"
    nvidia: NvidiaDriver | None = None
    nvidia_problem: str | None = None  # nvidia-smi exists but failed: driver not loaded
    apple_chip: str | None = None
    rosetta: bool = False  # an x86_64 Python translated on Apple Silicon

    @property
    def accelerator(self) -> str:
        if self.nvidia is not None and self.nvidia.gpus:
            return "cuda"
        if self.system == "Darwin" and self.machine == "arm64":
            return "mps"
        return "cpu"

    def describe(self) -> str:
        if self.accelerator == "cuda" and self.nvidia is not None:
            gpus = ", ".join(_gpu_text(g) for g in self.nvidia.gpus)
            cuda = ".".join(map(str, self.nvidia.cuda_version))
            return f"NVIDIA {gpus}; driver {self.nvidia.driver_version}, CUDA {cuda}"
        if self.accelerator == "mps":
            return f"Apple Silicon ({self.apple_chip or 'arm64'}), Metal / MPS"
        return f"CPU only ({self.system} {self.machine})"


def _gpu_text(gpu: Gpu) -> str:
    memory = f" ({gpu.memory_mib / 1024:.0f} GiB)" if gpu.memory_mib else ""
    return gpu.name + memory


def parse_smi_header(text: str) -> tuple[str, tuple[int, int]] | None:
    """(driver version, CUDA version) from plain ``nvidia-smi`` output, or None."""
    driver = re.search(r"Driver Version:\s*([0-9][0-9.]*)", text)
    cuda = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", text)
    if driver is None or cuda is None:
        return None
    return driver.group(1), (int(cuda.group(1)), int(cuda.group(2)))


def parse_gpu_query(text: str) -> tuple[Gpu, ...]:
    """GPUs from ``nvidia-smi --query-gpu=name,memory.total[,compute_cap] --format=csv,noheader,
    nounits``; fields that read ``[N/A]`` are left unknown."""
    gpus = []
    for line in text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        if not fields[0]:
            continue
        memory = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
        compute = None
        if len(fields) > 2 and re.fullmatch(r"\d+\.\d+", fields[2]):
            major, minor = fields[2].split(".")
            compute = (int(major), int(minor))
        gpus.append(Gpu(fields[0], memory, compute))
    return tuple(gpus)


def run_command(command: Sequence[str]) -> tuple[int, str] | None:
    """(exit code, stdout + stderr), or None when the program is not installed."""
    if shutil.which(command[0]) is None:
        return None
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        return 1, str(err)
    return done.returncode, done.stdout + done.stderr


def detect_nvidia(run: Runner = run_command) -> tuple[NvidiaDriver | None, str | None]:
    """(the driver, or None; why nvidia-smi failed, or None when it is simply absent)."""
    header = run(["nvidia-smi"])
    if header is None:
        return None, None
    code, text = header
    parsed = parse_smi_header(text) if code == 0 else None
    if parsed is None:
        first = text.strip().splitlines()[0] if text.strip() else f"exit code {code}"
        return None, f"nvidia-smi failed: {first}"
    query = "--format=csv,noheader,nounits"
    gpus: tuple[Gpu, ...] = ()
    # Drivers older than 510 do not know the compute_cap field, so ask again without it.
    for fields in ("name,memory.total,compute_cap", "name,memory.total"):
        answer = run(["nvidia-smi", f"--query-gpu={fields}", query])
        if answer is not None and answer[0] == 0:
            gpus = parse_gpu_query(answer[1])
            break
    return NvidiaDriver(parsed[0], parsed[1], gpus), None


def normalise_machine(machine: str) -> str:
    lowered = machine.lower()
    if lowered in ("amd64", "x86_64", "x64"):
        return "x86_64"
    if lowered in ("arm64", "aarch64", "armv8"):
        return "arm64"
    return lowered


def detect(
    run: Runner = run_command, system: str | None = None, machine: str | None = None
) -> Hardware:
    """Look at this machine (or at the given platform facts, with a recorded ``run``)."""
    system = system or platform.system()
    machine = normalise_machine(machine or platform.machine())
    nvidia, problem = (None, None) if system == "Darwin" else detect_nvidia(run)
    chip, rosetta = None, False
    if system == "Darwin":
        brand = run(["sysctl", "-n", "machdep.cpu.brand_string"])
        chip = brand[1].strip() if brand and brand[0] == 0 else None
        translated = run(["sysctl", "-n", "sysctl.proc_translated"])
        rosetta = bool(translated and translated[0] == 0 and translated[1].strip() == "1")
        if rosetta:
            machine = "arm64"
    return Hardware(system, machine, nvidia, problem, chip, rosetta)
