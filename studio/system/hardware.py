"""What compute this machine has, and which torch and llama.cpp builds match it.

The installers run this module with the system Python before the app's environment exists
(``python3 -m studio.system.hardware --shell``), so it uses only the standard library. Parsing is
done by pure functions over recorded command output; ``detect`` is the one place that runs commands.

The parts: :mod:`studio.system.gpu` (detection), :mod:`studio.system.install_plan` (the
builds) and :mod:`studio.system.toolchain` (build tools); this module is the installers' entry
point and keeps the names other modules import from it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from studio.system.gpu import (
    Gpu,
    Hardware,
    NvidiaDriver,
    Runner,
    detect,
    detect_nvidia,
    normalise_machine,
    parse_gpu_query,
    parse_smi_header,
    run_command,
)
from studio.system.install_plan import (
    CUDA_VARIANTS,
    DEFAULT_TORCH_SPEC,
    LLAMA_ARGS_ENV,
    LLAMA_BASE_CMAKE_ARGS,
    MIN_FREE_ENV,
    TORCH_INDEX,
    TORCH_INDEX_ENV,
    TORCH_SPEC_ENV,
    InstallPlan,
    cuda_variant,
    has_nvcc,
    plan_fields,
    plan_install,
)
from studio.system.toolchain import (
    LINUX_PACKAGES,
    ToolProblem,
    linux_fixes,
    read_os_release,
    toolchain_problems,
)

__all__ = [
    "CUDA_VARIANTS", "DEFAULT_TORCH_SPEC", "LINUX_PACKAGES", "LLAMA_ARGS_ENV",
    "LLAMA_BASE_CMAKE_ARGS", "MIN_FREE_ENV", "TORCH_INDEX", "TORCH_INDEX_ENV", "TORCH_SPEC_ENV",
    "Gpu", "Hardware", "InstallPlan", "NvidiaDriver", "Runner", "ToolProblem", "cuda_variant",
    "detect", "detect_nvidia", "has_nvcc", "linux_fixes", "main", "make_parser",
    "normalise_machine", "parse_gpu_query", "parse_smi_header", "plan_fields", "plan_install",
    "read_os_release", "run_command", "toolchain_problems",
]


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
