"""What compute this machine has, and which torch and llama.cpp builds match it.

The installers run this module with the system Python before the app's environment exists
(``python3 -m studio.system.hardware --shell``), so it uses only the standard library. Parsing is
done by pure functions over recorded command output; ``detect`` is the one place that runs commands.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

DEFAULT_TORCH_SPEC = "torch==2.13.0"
TORCH_INDEX = "https://download.pytorch.org/whl"
# Text-only llama.cpp: no multimodal tool and no HTTPS client, a minute faster to build.
LLAMA_BASE_CMAKE_ARGS = "-DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF"
# PyTorch's CUDA wheel variants, newest first: the lowest driver CUDA version each needs, and
# the oldest GPU it has kernels for (cu128 dropped Pascal, CUDA 13 dropped Volta).
CUDA_VARIANTS = (
    ((13, 0), (7, 5), "cu130"),
    ((12, 8), (7, 0), "cu128"),
    ((12, 6), (5, 0), "cu126"),
)
# Environment overrides the installers and tests use.
TORCH_SPEC_ENV = "TUNING_STUDIO_TORCH_SPEC"
TORCH_INDEX_ENV = "TUNING_STUDIO_TORCH_INDEX_URL"
LLAMA_ARGS_ENV = "TUNING_STUDIO_LLAMA_CMAKE_ARGS"
MIN_FREE_ENV = "TUNING_STUDIO_MIN_FREE_GB"

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


@dataclass(frozen=True)
class InstallPlan:
    """The builds to install: torch from which index, llama.cpp with which CMake flags."""

    accelerator: str
    torch_spec: str
    torch_index_url: str | None  # None: pip's configured index (PyPI)
    torch_variant: str  # "cu130", "cu128", "cu126", "cpu" or "pypi"
    llama_cmake_args: str
    llama_backend: str  # what llama.cpp is built for: "cuda", "metal" or "cpu"
    min_free_gb: float
    notes: tuple[str, ...] = ()
    # Speed-ups that only the CUDA build can use (Liger's fused kernels need triton).
    extra_packages: tuple[str, ...] = ()


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


def cuda_variant(driver_cuda: tuple[int, int], gpus: Sequence[Gpu] = ()) -> str | None:
    """The newest PyTorch CUDA wheel variant this driver and these GPUs run, or None.

    CUDA 12 minor-version compatibility lets a 12.0+ driver run the cu126 wheels.
    """
    known = [g.compute_capability for g in gpus if g.compute_capability is not None]
    oldest = min(known) if known else None
    for needed, min_compute, variant in CUDA_VARIANTS:
        if oldest is not None and oldest < min_compute:
            continue
        if driver_cuda >= needed or (variant == "cu126" and driver_cuda >= (12, 0)):
            return variant
    return None


def has_nvcc(env: Mapping[str, str], which: Callable[[str], str | None] = shutil.which) -> bool:
    """Whether the CUDA compiler that a CUDA build of llama.cpp needs is installed."""
    if which("nvcc"):
        return True
    homes = [env.get("CUDA_HOME"), env.get("CUDA_PATH"), "/usr/local/cuda"]
    return any(home and os.path.isfile(os.path.join(home, "bin", "nvcc")) for home in homes)


def plan_install(
    hw: Hardware,
    env: Mapping[str, str] | None = None,
    cuda_compiler: bool | None = None,
) -> InstallPlan:
    """The torch build and llama.cpp flags for ``hw``; ``env`` overrides (see ``*_ENV``).

    ``cuda_compiler``: whether nvcc is installed (default: look for it).
    """
    env = os.environ if env is None else env
    notes: list[str] = []
    variant, index, backend, flags = "pypi", None, "cpu", []
    if hw.accelerator == "cuda" and hw.nvidia is not None:
        found = cuda_variant(hw.nvidia.cuda_version, hw.nvidia.gpus)
        if found is None:
            cuda = ".".join(map(str, hw.nvidia.cuda_version))
            notes.append(
                f"the NVIDIA driver supports only CUDA {cuda}; torch needs 12.0 or newer, so "
                "torch and llama.cpp are installed for the CPU. Update the driver and re-run."
            )
            variant, index = "cpu", f"{TORCH_INDEX}/cpu"
        else:
            variant, index = found, f"{TORCH_INDEX}/{found}"
            if cuda_compiler if cuda_compiler is not None else has_nvcc(env):
                backend, flags = "cuda", ["-DGGML_CUDA=on"]
            else:
                notes.append(
                    "the CUDA toolkit (nvcc) is missing, so llama.cpp is built for the CPU; "
                    "torch still uses the GPU. Install it (Debian/Ubuntu: sudo apt install "
                    "nvidia-cuda-toolkit, or NVIDIA's installer) and re-run for GPU chat."
                )
    elif hw.system == "Darwin":
        backend = "metal" if hw.machine == "arm64" else "cpu"
        flags = ["-DGGML_METAL=on"] if backend == "metal" else ["-DGGML_METAL=off"]
        if hw.rosetta:
            notes.append("this Python runs under Rosetta; use an arm64 Python for MPS and Metal")
    elif hw.system == "Linux":
        # PyPI's Linux torch is the CUDA build (several GB); the CPU index has the small one.
        variant, index = "cpu", f"{TORCH_INDEX}/cpu"
    if hw.nvidia_problem:
        notes.append(f"{hw.nvidia_problem}; installing for the CPU. Fix the driver and re-run.")
    if TORCH_INDEX_ENV in env:
        index = env[TORCH_INDEX_ENV] or None
    cuda_torch = variant.startswith("cu")
    return InstallPlan(
        accelerator="cuda" if cuda_torch else "mps" if backend == "metal" else "cpu",
        torch_spec=env.get(TORCH_SPEC_ENV) or DEFAULT_TORCH_SPEC,
        torch_index_url=index,
        torch_variant=variant,
        llama_cmake_args=env.get(LLAMA_ARGS_ENV) or " ".join([LLAMA_BASE_CMAKE_ARGS, *flags]),
        llama_backend=backend,
        min_free_gb=float(env.get(MIN_FREE_ENV) or (10 if cuda_torch else 4)),
        notes=tuple(notes),
        extra_packages=("liger-kernel",) if cuda_torch else (),
    )


@dataclass(frozen=True)
class ToolProblem:
    """A missing build tool, the command that installs it, and whether the install must stop."""

    tool: str
    fix: str
    fatal: bool


# (os-release ids, compiler packages, cmake package)
LINUX_PACKAGES = (
    (("debian", "ubuntu"), "sudo apt-get install build-essential", "sudo apt-get install cmake"),
    (("fedora", "rhel", "centos"), "sudo dnf install gcc gcc-c++ make", "sudo dnf install cmake"),
    (("arch",), "sudo pacman -S base-devel", "sudo pacman -S cmake"),
    (("suse", "opensuse"), "sudo zypper install gcc gcc-c++ make", "sudo zypper install cmake"),
    (("alpine",), "sudo apk add build-base", "sudo apk add cmake"),
)


def linux_fixes(os_release: str) -> tuple[str, str]:
    """(compiler install command, cmake install command) for the distribution."""
    ids = set()
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key in ("ID", "ID_LIKE"):
            ids.update(value.strip().strip('"').split())
    for names, compilers, cmake in LINUX_PACKAGES:
        if ids & set(names):
            return compilers, cmake
    return "install gcc, g++ and make with your package manager", "install cmake"


def toolchain_problems(
    system: str,
    which: Callable[[str], str | None] = shutil.which,
    run: Runner = run_command,
    os_release: str = "",
) -> list[ToolProblem]:
    """What is missing to build llama-cpp-python from source, with the fix for this system.

    A missing cmake is not fatal: the build then fetches cmake from PyPI by itself.
    """
    problems = []
    if system == "Darwin":
        # /usr/bin/cc exists even without the Command Line Tools; it only asks to install them.
        tools = run(["xcode-select", "-p"])
        if tools is None or tools[0] != 0:
            problems.append(ToolProblem("C/C++ compiler", "xcode-select --install", True))
        cmake_fix = "brew install cmake"
    elif system == "Windows":
        if not which("cl") and not _has_msvc(run):
            fix = ("winget install Microsoft.VisualStudio.2022.BuildTools --override "
                   '"--add Microsoft.VisualStudio.Workload.VCTools --includeRecommended --passive"')
            problems.append(ToolProblem("MSVC C++ build tools", fix, True))
        cmake_fix = "winget install Kitware.CMake"
    else:
        compilers, cmake_fix = linux_fixes(os_release)
        has_cc = any(which(name) for name in ("cc", "gcc", "clang"))
        has_cxx = any(which(name) for name in ("c++", "g++", "clang++"))
        if not (has_cc and has_cxx):
            problems.append(ToolProblem("C/C++ compiler", compilers, True))
    if not which("cmake"):
        problems.append(ToolProblem("cmake", cmake_fix, False))
    return problems


def _has_msvc(run: Runner) -> bool:
    root = os.environ.get("ProgramFiles(x86)", r"C:\Program Files (x86)")
    vswhere = os.path.join(root, "Microsoft Visual Studio", "Installer", "vswhere.exe")
    if not os.path.isfile(vswhere):
        return False
    component = "Microsoft.VisualStudio.Component.VC.Tools.x86.x64"
    found = run([vswhere, "-products", "*", "-requires", component, "-property",
                 "installationPath"])
    return bool(found and found[0] == 0 and found[1].strip())


def read_os_release() -> str:
    try:
        with open("/etc/os-release", encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return ""


def plan_fields(hw: Hardware, plan: InstallPlan, problems: Sequence[ToolProblem]) -> dict[str, str]:
    """The plan as flat ``TS_*`` strings, the form both installers read."""
    fields = {f"TS_{k.upper()}": v for k, v in dataclasses.asdict(plan).items()}
    fields["TS_NOTES"] = "\n".join(plan.notes)
    fields["TS_EXTRA_PACKAGES"] = " ".join(plan.extra_packages)
    fields["TS_TORCH_INDEX_URL"] = plan.torch_index_url or ""
    fields["TS_MIN_FREE_GB"] = f"{plan.min_free_gb:.10g}"
    fields["TS_DESCRIPTION"] = hw.describe()
    fields["TS_TOOLCHAIN_FATAL"] = "\n".join(f"{p.tool}: {p.fix}" for p in problems if p.fatal)
    fields["TS_TOOLCHAIN_WARN"] = "\n".join(
        f"{p.tool} not found (the build fetches it from PyPI); to install it: {p.fix}"
        for p in problems if not p.fatal
    )
    return {k: str(v) for k, v in fields.items()}


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m studio.system.hardware",
        description="Detect the GPU and print the torch and llama.cpp builds to install.",
    )
    style = parser.add_mutually_exclusive_group()
    style.add_argument("--shell", action="store_true", help="print TS_*=value lines for sh")
    style.add_argument("--json", action="store_true", help="print the plan as JSON")
    return parser


def main(args: argparse.Namespace) -> int:
    hw = detect()
    plan = plan_install(hw)
    problems = toolchain_problems(hw.system, os_release=read_os_release())
    fields = plan_fields(hw, plan, problems)
    if args.shell:
        lines = [f"{key}={shlex.quote(value)}" for key, value in fields.items()]
    elif args.json:
        lines = [json.dumps(fields, indent=2)]
    else:
        lines = [f"{key[3:].lower():18} {value}" for key, value in fields.items()]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
