"""The doctor: real child-process probes in this environment, and the evaluation of recorded
probe results for machines this one is not (CUDA, MPS, broken installs)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from studio.cli.doctor import add_doctor_command, run_doctor_command
from studio.paths import CACHE_DIR_ENV, DataPaths
from studio.registry.converter import (
    REQUIRED,
    VERSION_MARKER,
    installed_llama_cpp_version,
    is_prepared,
)
from studio.system.doctor import (
    HealthCheck,
    Probe,
    Status,
    converter_check,
    data_check,
    extras_check,
    format_report,
    llama_backends,
    llama_check,
    python_check,
    run_checks,
    run_probes,
    torch_check,
)
from studio.system.hardware import Gpu, Hardware, NvidiaDriver

GIB = 1024**3
CUDA_HW = Hardware("Linux", "x86_64", NvidiaDriver("580.95.05", (13, 0), (Gpu("NVIDIA H200",
                                                                              143771, (9, 0)),)))
CPU_HW = Hardware("Linux", "x86_64")
MAC_HW = Hardware("Darwin", "arm64", apple_chip="Apple M2 Pro")
CUDA_TORCH = {"version": "2.13.0+cu130", "cuda_build": "13.0", "cuda_available": True,
              "devices": [{"name": "NVIDIA H200", "memory_mib": 143771}], "mps_available": False}
CPU_TORCH = {"version": "2.13.0+cpu", "cuda_build": None, "cuda_available": False, "devices": [],
             "mps_available": False}
CPU_INFO = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | OPENMP = 1 | REPACK = 1 | "
CUDA_INFO = ("CUDA : ARCHS = 900 | USE_GRAPHS = 1 | PEER_MAX_BATCH_SIZE = 128 | CPU : SSE3 = 1 "
             "| AVX2 = 1 | ")
METAL_INFO = "Metal : EMBED_LIBRARY = 1 | CPU : NEON = 1 | ARM_FMA = 1 | ACCELERATE = 1 | "


def by_name(checks: list[HealthCheck]) -> dict[str, HealthCheck]:
    return {check.name: check for check in checks}


def test_this_installation_is_healthy(data_paths: DataPaths) -> None:
    """The real probes, in child processes, against this environment's torch and llama_cpp."""
    checks = by_name(run_checks(data_paths.root))
    assert set(checks) == {"Python", "Hardware", "torch", "CUDA extras", "llama.cpp",
                           "GGUF converter", "Data folder"}
    assert checks["CUDA extras"].ok  # not needed without an NVIDIA GPU
    assert checks["Python"].ok
    assert checks["torch"].ok, checks["torch"]
    assert checks["torch"].summary.startswith("2.")
    assert checks["llama.cpp"].ok, checks["llama.cpp"]
    assert "CPU" in checks["llama.cpp"].summary
    assert checks["llama.cpp"].details["system_info"]
    assert str(data_paths.root) in checks["Data folder"].summary
    assert checks["Data folder"].status is not Status.PROBLEM
    if is_prepared():
        assert checks["GGUF converter"].ok


def test_the_doctor_never_imports_the_ml_stack() -> None:
    code = ("import sys, studio.system.doctor, studio.cli.doctor; "
            "print([m for m in ('torch', 'llama_cpp', 'transformers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_hanging_probe_is_stopped() -> None:
    probes = run_probes(sys.executable, {"slow": "import time; time.sleep(30)"}, timeout=0.5)
    assert probes["slow"].data is None
    assert "did not answer" in (probes["slow"].error or "")


def test_a_failing_probe_reports_its_last_error_line() -> None:
    probes = run_probes(sys.executable, {"bad": "import no_such_module_here"}, timeout=30)
    assert probes["bad"].error == "ModuleNotFoundError: No module named 'no_such_module_here'"


def test_cuda_torch_on_a_gpu_machine() -> None:
    check = torch_check(Probe(CUDA_TORCH), CUDA_HW, "python")
    assert check.ok
    assert check.summary == "2.13.0+cu130, CUDA 13.0: NVIDIA H200 (140 GiB)"


def test_cpu_torch_on_a_gpu_machine_says_which_build_to_install() -> None:
    check = torch_check(Probe(CPU_TORCH), CUDA_HW, "/venv/bin/python")
    assert check.status is Status.WARNING
    assert "CPU-only build" in check.summary
    assert check.fix is not None
    assert "--index-url https://download.pytorch.org/whl/cu130" in check.fix
    assert "/venv/bin/python -m pip install --force-reinstall" in check.fix


def test_cuda_extras_on_a_gpu_machine() -> None:
    """bitsandbytes (QLoRA) and liger-kernel are wanted where there is an NVIDIA GPU."""
    both = {**CUDA_TORCH, "extras": {"bitsandbytes": "0.50.2", "liger-kernel": "0.8.5"}}
    assert extras_check(Probe(both), CUDA_HW, "python").ok
    no_bnb = {**CUDA_TORCH, "extras": {"bitsandbytes": None, "liger-kernel": "0.8.5"}}
    check = extras_check(Probe(no_bnb), CUDA_HW, "/venv/bin/python")
    assert check.status is Status.WARNING
    assert "bitsandbytes missing" in check.summary
    assert "QLoRA cannot run" in check.summary
    assert check.fix is not None
    assert "/venv/bin/python -m pip install bitsandbytes" in check.fix
    no_liger = {**CUDA_TORCH, "extras": {"bitsandbytes": "0.50.2", "liger-kernel": None}}
    assert "without Liger" in extras_check(Probe(no_liger), CUDA_HW, "python").summary


def test_cuda_extras_are_not_needed_without_a_gpu() -> None:
    check = extras_check(Probe({**CPU_TORCH, "extras": {"bitsandbytes": None}}), CPU_HW, "python")
    assert check.ok
    assert "QLoRA needs CUDA" in check.summary


def test_cuda_torch_the_driver_cannot_run() -> None:
    broken = {**CUDA_TORCH, "cuda_available": False, "devices": []}
    check = torch_check(Probe(broken), CUDA_HW, "python")
    assert check.status is Status.WARNING
    assert "CUDA 13.0, which the driver cannot run" in check.summary


def test_mps() -> None:
    assert torch_check(Probe({**CPU_TORCH, "mps_available": True}), MAC_HW, "python").ok
    check = torch_check(Probe(CPU_TORCH), MAC_HW, "python")
    assert check.status is Status.WARNING
    assert check.fix is not None
    assert "arm64 Python" in check.fix


def test_torch_missing_is_a_problem_with_the_install_command() -> None:
    check = torch_check(Probe(error="ModuleNotFoundError: No module named 'torch'"), CPU_HW, "py")
    assert check.status is Status.PROBLEM
    assert check.fix is not None
    assert "install.sh" in check.fix
    assert "pip install --force-reinstall torch==" in check.fix


def test_llama_backends_are_read_from_the_system_info() -> None:
    assert llama_backends(CPU_INFO) == ["CPU"]
    assert llama_backends(CUDA_INFO) == ["CUDA", "CPU"]
    assert llama_backends(METAL_INFO) == ["Metal", "CPU"]


def test_cpu_llama_on_a_gpu_machine_says_how_to_rebuild() -> None:
    probe = Probe({"version": "0.3.36", "gpu_offload": False, "system_info": CPU_INFO})
    check = llama_check(probe, CUDA_HW, "python")
    assert check.status is Status.WARNING
    assert check.fix is not None
    assert "-DGGML_CUDA=on" in check.fix
    assert "--no-cache-dir" in check.fix  # else pip reuses the cached CPU wheel
    assert "llama-cpp-python==0.3.36" in check.fix
    gpu = Probe({"version": "0.3.36", "gpu_offload": True, "system_info": CUDA_INFO})
    assert llama_check(gpu, CUDA_HW, "python").summary == (
        "llama-cpp-python 0.3.36, backends: CUDA, CPU")


def test_llama_missing_is_a_problem() -> None:
    check = llama_check(Probe(error="ImportError: libcudart.so.12: cannot open"), CPU_HW, "py")
    assert check.status is Status.PROBLEM
    assert "libcudart" in check.summary


def test_converter_missing_stale_and_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    version = installed_llama_cpp_version()
    missing = converter_check(version, tmp_path)
    assert missing.status is Status.PROBLEM
    assert missing.fix is not None
    assert "-m studio.registry.converter prepare" in missing.fix

    (tmp_path / "llama.cpp-0.3.1").mkdir()
    assert "found only for 0.3.1" in converter_check(version, tmp_path).summary

    folder = tmp_path / f"llama.cpp-{version}"
    for name in REQUIRED:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("# placeholder for the check\n", encoding="utf-8")
    (folder / VERSION_MARKER).write_text(version + "\n", encoding="utf-8")
    assert converter_check(version, tmp_path).ok
    assert converter_check(None, tmp_path).status is Status.PROBLEM


@pytest.mark.parametrize(("free_gib", "status"), [
    (0.5, Status.PROBLEM), (5, Status.WARNING), (50, Status.OK),
])
def test_free_disk_thresholds(tmp_path: Path, free_gib: float, status: Status) -> None:
    check = data_check(tmp_path, int(free_gib * GIB), writable=True)
    assert check.status is status
    assert (check.fix is None) == (status is Status.OK)


def test_unwritable_data_folder(tmp_path: Path) -> None:
    check = data_check(tmp_path, None, writable=False)
    assert check.status is Status.PROBLEM
    assert check.fix is not None
    assert "--data-dir" in check.fix


def test_old_python() -> None:
    assert python_check((3, 9, 18), "/usr/bin/python3").status is Status.PROBLEM
    assert python_check((3, 11, 7), "/usr/bin/python3").ok


def test_report_lists_each_fix_and_a_verdict() -> None:
    checks = [HealthCheck("torch", Status.OK, "2.13.0+cpu"),
              HealthCheck("Data folder", Status.PROBLEM, "/x, 0.5 GiB free", "free space")]
    report = format_report(checks)
    assert "problem  Data folder  /x, 0.5 GiB free" in report
    assert "fix: free space" in report
    assert report.endswith("1 problem(s), 0 warning(s); see the fixes above.")
    assert format_report(checks[:1]).endswith("all checks passed.")


def test_cli_command(data_paths: DataPaths, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_doctor_command(parser.add_subparsers(dest="command"))
    assert run_doctor_command(parser.parse_args(["doctor"]).__class__(command="stats"),
                              data_paths) is None
    code = run_doctor_command(parser.parse_args(["doctor", "--json"]), data_paths)
    checks = json.loads(capsys.readouterr().out)
    assert {c["name"] for c in checks} >= {"torch", "llama.cpp", "GGUF converter"}
    assert code == (1 if any(c["status"] == "problem" for c in checks) else 0)
    assert [HealthCheck.from_dict(c).as_dict() for c in checks] == checks
