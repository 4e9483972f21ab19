"""The build tools llama-cpp-python needs from source, and how to install each one here.
Standard library only (see :mod:`studio.system.hardware`)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass

from studio.system.gpu import Runner, run_command


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
