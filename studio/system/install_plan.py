"""Which torch and llama.cpp builds match the detected hardware, and the plan's ``TS_*`` fields
the installers read. Standard library only (see :mod:`studio.system.hardware`)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from studio.system.gpu import Gpu, Hardware
from studio.system.toolchain import ToolProblem

DEFAULT_TORCH_SPEC = "torch==2.13.0"


TORCH_INDEX = "https://download.pytorch.org/whl"


# Text-only llama.cpp: no multimodal tool and no HTTPS client, a minute faster to build.
LLAMA_BASE_CMAKE_ARGS = "-DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF"


# What the CUDA build adds (pyproject's ``cuda`` extra, the same list): bitsandbytes for QLoRA's
# 4-bit base, Liger's fused kernels (they need triton, which only CUDA torch brings).
CUDA_EXTRAS = ("bitsandbytes", "liger-kernel")


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
    # Packages only the CUDA build can use: QLoRA's bitsandbytes, Liger's kernels (triton).
    extra_packages: tuple[str, ...] = ()


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
        extra_packages=CUDA_EXTRAS if cuda_torch else (),
    )


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
