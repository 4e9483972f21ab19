"""``tuning-studio doctor``: is this installation healthy, and what to do where it is not.

torch and llama_cpp are examined in short child processes (``python -c ...``), so neither the
GUI nor the CLI ever imports them. The evaluation of what the children report is done by pure
functions, which is what the About/Settings dialog and the tests use.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from studio.paths import cache_dir, default_data_dir
from studio.registry.converter import (
    ConverterError,
    converter_dir,
    installed_llama_cpp_version,
    is_prepared,
)
from studio.system.hardware import Hardware, detect, plan_install
from studio.system.install_plan import CUDA_EXTRAS

GIB = 1024**3
DISK_FAIL_GIB = 2.0  # less than this cannot hold one merged model plus its GGUF
DISK_WARN_GIB = 10.0
PROBE_TIMEOUT_S = 120.0
REINSTALL = "re-run the installer (installers/install.sh, or install.ps1 on Windows)"

TORCH_PROBE = """
import json, torch
info = {"version": torch.__version__, "cuda_build": torch.version.cuda,
        "cuda_available": torch.cuda.is_available(), "devices": []}
for i in range(torch.cuda.device_count() if info["cuda_available"] else 0):
    props = torch.cuda.get_device_properties(i)
    info["devices"].append({"name": props.name, "memory_mib": props.total_memory // 2**20})
mps = getattr(torch.backends, "mps", None)
info["mps_available"] = bool(mps is not None and mps.is_available())
import importlib.metadata as metadata
info["extras"] = {}
for name in EXTRAS:
    try:
        info["extras"][name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        info["extras"][name] = None
print(json.dumps(info))
""".replace("EXTRAS", repr(CUDA_EXTRAS))

LLAMA_PROBE = """
import json, llama_cpp
print(json.dumps({"version": llama_cpp.__version__,
                  "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
                  "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace")}))
"""


class Status(str, Enum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"


@dataclass(frozen=True)
class HealthCheck:
    """One line of the report. ``fix`` says what to do whenever ``status`` is not OK."""

    name: str
    status: Status
    summary: str
    fix: str | None = None
    details: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status.value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HealthCheck:
        """The inverse of ``as_dict``: reads ``python -m studio.cli.doctor --json`` output."""
        return cls(data["name"], Status(data["status"]), data["summary"], data.get("fix"),
                   dict(data.get("details") or {}))


@dataclass(frozen=True)
class Probe:
    """What a child process printed as JSON, or why it failed."""

    data: dict[str, Any] | None = None
    error: str | None = None


def run_probes(python: str, codes: dict[str, str], timeout: float) -> dict[str, Probe]:
    """Run each snippet in its own ``python -c`` child, all at once, and collect their JSON."""
    children = {
        name: subprocess.Popen(
            [python, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for name, code in codes.items()
    }
    return {name: _collect(child, timeout) for name, child in children.items()}


def _collect(child: subprocess.Popen[str], timeout: float) -> Probe:
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return Probe(error=f"did not answer within {timeout:.0f} s")
    if child.returncode != 0:
        lines = err.strip().splitlines()
        return Probe(error=lines[-1] if lines else f"exit code {child.returncode}")
    try:
        return Probe(data=json.loads(out.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        return Probe(error=f"unexpected output: {out.strip()[:200]}")


def python_check(version: tuple[int, int, int], executable: str) -> HealthCheck:
    text = ".".join(map(str, version))
    if version < (3, 10):
        return HealthCheck("Python", Status.PROBLEM, f"{text} is too old ({executable})",
                     f"install Python 3.10 or newer, then {REINSTALL}")
    return HealthCheck("Python", Status.OK, f"{text} ({executable})")


def hardware_check(hw: Hardware) -> HealthCheck:
    if hw.nvidia_problem:
        return HealthCheck("Hardware", Status.WARNING, hw.nvidia_problem,
                     "install or repair the NVIDIA driver (nvidia-smi must work), reboot, then "
                     + REINSTALL)
    if hw.rosetta:
        return HealthCheck(
            "Hardware", Status.WARNING, "Python runs under Rosetta (x86_64 emulation)",
                     "install an arm64 Python (python.org or Homebrew), then " + REINSTALL)
    return HealthCheck("Hardware", Status.OK, hw.describe())


def torch_check(probe: Probe, hw: Hardware, python: str) -> HealthCheck:
    plan = plan_install(hw)
    index = f" --index-url {plan.torch_index_url}" if plan.torch_index_url else ""
    reinstall = (f"{shlex.quote(python)} -m pip install --force-reinstall "
                 f"{shlex.quote(plan.torch_spec)}{index}")
    if probe.data is None:
        return HealthCheck("torch", Status.PROBLEM, f"cannot be imported: {probe.error}",
                     f"{REINSTALL}, or: {reinstall}")
    info = probe.data
    version = str(info["version"])
    if info.get("cuda_available"):
        devices = ", ".join(f"{d['name']} ({d['memory_mib'] / 1024:.0f} GiB)"
                            for d in info.get("devices", []))
        return HealthCheck(
            "torch", Status.OK, f"{version}, CUDA {info.get('cuda_build')}: {devices}")
    if info.get("mps_available"):
        return HealthCheck("torch", Status.OK, f"{version}, Apple MPS")
    if hw.accelerator == "cuda":
        why = ("a CPU-only build" if not info.get("cuda_build")
               else f"built for CUDA {info['cuda_build']}, which the driver cannot run")
        return HealthCheck("torch", Status.WARNING, f"{version} is {why}; training runs on the CPU",
                     f"install the {plan.torch_variant} build: {reinstall}")
    if hw.accelerator == "mps":
        return HealthCheck(
            "torch", Status.WARNING, f"{version} cannot use MPS; training runs on the CPU",
                     "update macOS to 12.3 or newer and use an arm64 Python, then " + REINSTALL)
    return HealthCheck("torch", Status.OK, f"{version}, CPU (no GPU on this machine)")


def extras_check(probe: Probe, hw: Hardware, python: str) -> HealthCheck:
    """The CUDA extras (bitsandbytes for QLoRA, Liger kernels), wanted where torch has CUDA."""
    found = (probe.data or {}).get("extras") or {}
    have = {name: found.get(name) for name in CUDA_EXTRAS}
    listed = ", ".join(f"{name} {version or 'missing'}" for name, version in have.items())
    if hw.accelerator != "cuda":
        return HealthCheck("CUDA extras", Status.OK, f"not needed without an NVIDIA GPU ({listed});"
                           " QLoRA needs CUDA")
    missing = [name for name, version in have.items() if not version]
    if not missing:
        return HealthCheck("CUDA extras", Status.OK, f"{listed}: QLoRA and Liger kernels ready")
    lost = ("QLoRA cannot run" if "bitsandbytes" in missing else
            "training runs without Liger's fused kernels")
    return HealthCheck("CUDA extras", Status.WARNING, f"{listed}; {lost}",
                       f"{shlex.quote(python)} -m pip install {' '.join(missing)}, or "
                       + REINSTALL)


def llama_backends(system_info: str) -> list[str]:
    """The ggml backends named in ``llama_print_system_info()``, e.g. ["CUDA", "CPU"]."""
    return re.findall(r"(?:^|\|)\s*([A-Za-z][A-Za-z0-9_]*) : ", system_info)


def llama_check(probe: Probe, hw: Hardware, python: str) -> HealthCheck:
    plan = plan_install(hw)
    rebuild = (f"CMAKE_ARGS={shlex.quote(plan.llama_cmake_args)} {shlex.quote(python)} -m pip "
               "install --force-reinstall --no-cache-dir --no-deps llama-cpp-python==VERSION")
    if probe.data is None:
        return HealthCheck(
            "llama.cpp", Status.PROBLEM, f"llama_cpp cannot be imported: {probe.error}",
                     f"{REINSTALL}, or: {rebuild.replace('VERSION', '0.3.36')}")
    info = probe.data
    version = str(info["version"])
    rebuild = rebuild.replace("VERSION", version)
    backends = llama_backends(str(info.get("system_info", ""))) or ["CPU"]
    summary = f"llama-cpp-python {version}, backends: {', '.join(dict.fromkeys(backends))}"
    details = {"system_info": str(info.get("system_info", "")).strip()}
    if plan.llama_backend != "cpu" and not info.get("gpu_offload"):
        return HealthCheck("llama.cpp", Status.WARNING, summary + " (no GPU offload; chat is slow)",
                     f"rebuild it for {plan.llama_backend.upper()}: {rebuild}", details)
    return HealthCheck("llama.cpp", Status.OK, summary, details=details)


def converter_check(version: str | None, cache: Path) -> HealthCheck:
    prepare = f"{shlex.quote(sys.executable)} -m studio.registry.converter prepare"
    if version is None:
        return HealthCheck("GGUF converter", Status.PROBLEM, "llama-cpp-python is not installed",
                     REINSTALL)
    if is_prepared(version):
        where = converter_dir(version)
        return HealthCheck("GGUF converter", Status.OK, f"ready for {version} in {where}")
    others = sorted(p.name.split("-", 1)[1] for p in cache.glob("llama.cpp-*") if p.is_dir())
    stale = f" (found only for {', '.join(others)})" if others else ""
    return HealthCheck("GGUF converter", Status.PROBLEM,
                 f"not prepared for llama-cpp-python {version}{stale}; GGUF export cannot run",
                 f"run: {prepare}")


def data_check(root: Path, free_bytes: int | None, writable: bool) -> HealthCheck:
    if free_bytes is None or not writable:
        return HealthCheck("Data folder", Status.PROBLEM, f"{root} cannot be created or written",
                     "fix its permissions, or choose another folder with --data-dir or "
                     "TUNING_STUDIO_DATA_DIR")
    free = free_bytes / GIB
    summary = f"{root}, {free:.1f} GiB free"
    fix = (f"free space on the disk holding {root}, or move the data folder with --data-dir "
           "or TUNING_STUDIO_DATA_DIR")
    if free < DISK_FAIL_GIB:
        return HealthCheck(
            "Data folder", Status.PROBLEM, summary + "; training and export will fail",
                     fix)
    if free < DISK_WARN_GIB:
        return HealthCheck("Data folder", Status.WARNING,
                     summary + f"; a model, its runs and GGUF files need {DISK_WARN_GIB:.0f}+ GiB",
                     fix)
    return HealthCheck("Data folder", Status.OK, summary)


def _data_facts(root: Path) -> tuple[int | None, bool]:
    try:
        root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(root).free, os.access(root, os.W_OK)
    except OSError:
        return None, False


def _llama_version() -> str | None:
    try:
        return installed_llama_cpp_version()
    except ConverterError:
        return None


def run_checks(
    data_dir: Path | None = None, python: str | None = None, timeout: float = PROBE_TIMEOUT_S
) -> list[HealthCheck]:
    """Examine the installation; takes a few seconds (it imports torch in a child process).

    ``python`` is the interpreter whose torch and llama_cpp are examined (default: this one).
    """
    python = python or sys.executable
    hw = detect()
    probes = run_probes(python, {"torch": TORCH_PROBE, "llama": LLAMA_PROBE}, timeout)
    root = data_dir if data_dir is not None else default_data_dir()
    return [
        python_check(sys.version_info[:3], sys.executable),
        hardware_check(hw),
        torch_check(probes["torch"], hw, python),
        extras_check(probes["torch"], hw, python),
        llama_check(probes["llama"], hw, python),
        converter_check(_llama_version(), cache_dir()),
        data_check(root, *_data_facts(root)),
    ]


def format_report(checks: list[HealthCheck]) -> str:
    """The report as plain text, one check per line, with its fix below it."""
    width = max(len(c.name) for c in checks)
    lines = []
    for check in checks:
        lines.append(f"{check.status.value:8} {check.name:{width}}  {check.summary}")
        if check.fix:
            lines.append(f"{'':8} {'':{width}}  fix: {check.fix}")
    problems = sum(c.status is Status.PROBLEM for c in checks)
    warnings = sum(c.status is Status.WARNING for c in checks)
    if problems == warnings == 0:
        verdict = "all checks passed"
    else:
        verdict = f"{problems} problem(s), {warnings} warning(s); see the fixes above"
    return "\n".join([*lines, "", f"Tuning Studio: {verdict}."])
