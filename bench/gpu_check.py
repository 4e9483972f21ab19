"""The prepared GPU check (issue 26): every figure the CUDA path needs, side by side in one run,
into one raw results file. Started by bench/gpu_check.sh, which documents the set-up it assumes.

    python bench/gpu_check.py [--cpu-smoke] [--out FILE] [--budget-s S] [--only a,b]

Sections, in order, each timed and fail-soft (its error goes into the file, the next one runs;
none starts after the budget):
  environment  GPU, driver, versions, the command
  models       SmolLM2-135M (the real one when cached, else its shape) and random-weight models of
               Qwen2.5-0.5B's and Llama-3.2-1B's shapes (bench/gpu_check_models.py)
  train        LoRA SFT, DPO and GRPO tokens/s and peak memory, the studio's defaults against plain
               TRL with TRL's defaults (bench/gpu_check_child.py), on every model; bf16 against
               fp32 on the 0.5B shape; QLoRA (4-bit) on the 1B shape; the pre-flight memory
               estimate against each studio run's torch.cuda.max_memory_allocated
  liger        the studio's SFT on the 0.5B shape without Liger's kernels (with them: train)
  memory       bench/bench_memory.py on CUDA: every method's peak against its estimate
  decode       llama.cpp decode (Q8_0, Q4_K_M) as a share of the memory-bandwidth ceiling
  rule_task    a short SFT on the real SmolLM2 that moves the rule task through the exported GGUF
``--cpu-smoke`` runs the same code on CPU with tiny shapes and 1-2 steps (tests/test_gpu_check.py).
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import gpu_check_models as shapes  # noqa: E402
from bench.gpu_check_report import summary  # noqa: E402

PACKAGES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "bitsandbytes",
            "liger-kernel", "triton", "flash-attn", "llama-cpp-python", "gguf")


@dataclass
class Check:
    smoke: bool
    out: Path
    work: Path
    deadline: float
    results: dict[str, Any] = field(default_factory=dict)
    models: dict[str, Path] = field(default_factory=dict)
    snapshots: dict[str, Path] = field(default_factory=dict)

    @property
    def left(self) -> float:
        return self.deadline - time.monotonic()

    def write(self, line: str) -> None:
        with self.out.open("a", encoding="utf-8") as file:
            file.write(line + "\n")


def environment(check: Check) -> dict[str, Any]:
    import importlib.metadata as metadata

    import torch

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    gpu: dict[str, Any] = {"cuda": torch.cuda.is_available(), "torch_cuda": torch.version.cuda}
    try:
        query = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                                "--format=csv,noheader"], capture_output=True, text=True,
                               timeout=20, check=True).stdout.strip()
        gpu["nvidia_smi"] = query
    except (OSError, subprocess.SubprocessError) as error:
        gpu["nvidia_smi"] = f"unavailable: {error}"
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        gpu.update(name=props.name, memory_gib=round(props.total_memory / 2**30, 1),
                   bf16=torch.cuda.is_bf16_supported())
    return {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": __import__("os").cpu_count(), "versions": versions, "gpu": gpu}


def models(check: Check) -> dict[str, Any]:
    """Folders of the models, and whether SmolLM2 is the real one."""
    import torch

    from tests.real_model import cache_root

    dtype = "bfloat16" if torch.cuda.is_available() else "float32"
    names = ["tiny-a"] if check.smoke else ["smollm2-135m", "qwen2.5-0.5b", "llama-3.2-1b"]
    real = cache_root() / "smollm2-hf-imported"
    for name in names:
        if name == "smollm2-135m" and (real / "model.safetensors").is_file():
            check.models[name] = real
        else:
            check.models[name] = shapes.shaped_model(name, check.work / "models", dtype)
    check.models["demo"] = shapes.demo_tokenizer(check.work / "models")
    return {"models": {k: str(v) for k, v in check.models.items()},
            "smollm2_real": check.models.get("smollm2-135m") == real}


def prepare_data(check: Check) -> dict[str, Path]:
    """One store with the demo responses labelled (gold answers, best-vs-worst pairs) and
    the SFT, DPO and GRPO snapshots of it."""
    from bench.bench_train_speed import label
    from studio.data.snapshots import export_snapshot
    from studio.db.store import Store
    from studio.paths import DataPaths
    from studio.training.grpo import export_prompt_snapshot

    paths = DataPaths.at(check.work / "data")
    store = Store.open(paths.db)
    label(store)
    snapshots = {kind: export_snapshot(store, kind, check.work / f"snap-{kind}", 0.0).path
                 for kind in ("sft", "dpo")}
    snapshots["grpo"] = export_prompt_snapshot(store, "all", check.work / "snap-grpo").path
    store.close()
    return snapshots


def data(check: Check) -> dict[str, Path]:
    if not check.snapshots:
        check.snapshots = prepare_data(check)
    return check.snapshots


def workload(check: Check, method: str) -> tuple[int, dict[str, Any]]:
    """(steps, overrides): the studio's defaults on a GPU, tiny ones in the smoke run."""
    if check.smoke:
        small = {"batch_size": 1, "max_length": 64, "num_generations": 2,
                 "max_completion_length": 8}
        return 2, small if method != "grpo" else {k: small[k] for k in (
            "batch_size", "num_generations", "max_completion_length")}
    return (3, {}) if method == "grpo" else (6, {})


def job(check: Check, name: str, side: str, method: str, model: str,
        **extra: Any) -> dict[str, Any]:
    steps, overrides = workload(check, method)
    if method == "grpo" and side == "studio":
        overrides = {**overrides, "graders": ["contains:the"], "prompts": "all"}
    overrides.update(extra.pop("overrides", {}))
    return {"name": name, "side": side, "method": method, "model": str(check.models[model]),
            "snapshot": str(data(check)[method]), "data": str(check.work / "data"),
            "steps": steps, "overrides": overrides, **extra}


def run_children(check: Check, tag: str, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The jobs in one child process; what it finished before a timeout still counts."""
    spec, out = check.work / f"{tag}-jobs.json", check.work / f"{tag}-out.json"
    spec.write_text(json.dumps(jobs))
    log = check.work / f"{tag}.log"
    # A hung child must not take the other sections' minutes: at most 150 s each on a GPU.
    timeout = max(10.0, min(check.left, 300.0 if check.smoke else 150.0))
    try:
        with log.open("w") as sink:
            subprocess.run([sys.executable, str(REPO / "bench" / "gpu_check_child.py"),
                            str(spec), str(out)], cwd=REPO, stdin=subprocess.DEVNULL,
                           stdout=sink, stderr=subprocess.STDOUT, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        pass  # the jobs it finished are in `out`; the rest are reported missing below
    done = json.loads(out.read_text()) if out.is_file() else []
    finished = {r["name"] for r in done}
    tail = log.read_text(errors="replace")[-800:] if log.is_file() else ""
    return done + [{"name": j["name"], "side": j["side"], "method": j["method"], "ok": False,
                    "error": f"not finished within {timeout:.0f} s; log tail: {tail}"}
                   for j in jobs if j["name"] not in finished]


def roles(check: Check) -> tuple[str, str]:
    """(the model the goal is set on, the one QLoRA is measured on)."""
    return ("tiny-a", "tiny-a") if check.smoke else ("qwen2.5-0.5b", "llama-3.2-1b")


def train(check: Check) -> dict[str, Any]:
    import torch

    goal_model, qlora_model = roles(check)
    # bf16 is the studio's default on CUDA: the variant is fp32. On CPU the variant asks for
    # bf16, which the backend refuses: the smoke run then checks that a failed job is recorded.
    variant = "fp32" if torch.cuda.is_available() else "bf16"
    runs: list[dict[str, Any]] = []
    for name in (n for n in check.models if n != "demo"):
        studio = [job(check, f"{name}/{m}/studio", "studio", m, name)
                  for m in ("sft", "dpo", "grpo")]
        if name == goal_model:
            studio.append(job(check, f"{name}/sft/studio-{variant}", "studio", "sft", name,
                              overrides={"precision": variant}))
        if name == qlora_model:
            studio.append(job(check, f"{name}/sft/studio-qlora", "studio", "sft", name,
                              overrides={"adapter": "qlora"}))
        plain = [job(check, f"{name}/{m}/plain", "plain", m, name) for m in ("sft", "dpo", "grpo")]
        tag = name.replace(".", "_")
        if check.smoke:  # one process saves an import; no Liger on CPU to leak into plain TRL
            runs += run_children(check, f"{tag}-both", studio + plain)
        else:  # each side in its own process: Liger patches transformers process-wide
            runs += run_children(check, f"{tag}-studio", studio)
            runs += run_children(check, f"{tag}-plain", plain)
    return {"runs": runs}


def liger(check: Check) -> dict[str, Any]:
    if check.smoke:  # its code path is train's; the kernels themselves need CUDA (Triton)
        return {"skipped": "Liger's kernels need CUDA; the smoke run leaves this section out"}
    import importlib.util

    goal_model, _ = roles(check)
    off = job(check, f"{goal_model}/sft/studio-no-liger", "studio", "sft", goal_model,
              disable=["liger_kernel"])
    # Without the package both runs are the same: the file says so beside the ratio.
    return {"liger_kernel_installed": importlib.util.find_spec("liger_kernel") is not None,
            "runs": run_children(check, "no-liger", [off])}


def memory(check: Check) -> dict[str, Any]:
    """bench/bench_memory.py in its CUDA mode (CPU in the smoke run), on SmolLM2."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = check.models["tiny-a" if check.smoke else "smollm2-135m"]
    out = check.work / "memory.json"
    sizes = ["--sizes", "1x64", "--methods", "sft"] if check.smoke else \
        ["--sizes", "4x512", "--grpo-sizes", "4x8x64"]
    command = [sys.executable, str(REPO / "bench" / "bench_memory.py"), "--model", str(model),
               "--device", device, "--steps", "2", "--json", str(out), *sizes]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True,
                          timeout=max(10.0, min(check.left, 240.0)), check=False)
    if not out.is_file():
        raise RuntimeError(f"bench_memory failed ({done.returncode}): {done.stderr[-800:]}")
    return {"command": shlex.join(command[1:]), "rows": json.loads(out.read_text())}


def decode(check: Check) -> dict[str, Any]:
    bandwidth, how = shapes.read_bandwidth_gbs()
    names = ["tiny-a"] if check.smoke else ["llama-3.2-1b"]  # the larger: weights dominate
    tokens = 16 if check.smoke else 128
    results: dict[str, Any] = {"read_bandwidth_gbs": round(bandwidth, 1), "bandwidth_how": how}
    for name in names:
        try:
            results[name] = shapes.decode_shares(check.models[name], check.work / "gguf" / name,
                                                 ("Q8_0", "Q4_K_M"), tokens, bandwidth)
        except (OSError, RuntimeError, ValueError, subprocess.SubprocessError) as error:
            results[name] = {"error": f"{type(error).__name__}: {error}"[:600]}
    return results


def rule_task(check: Check) -> dict[str, Any]:
    """The rule task through the real pipeline: label, train (default preset), export Q8_0,
    answer the held-out prompts through llama.cpp before and after."""
    from studio.db.store import Store
    from studio.paths import DataPaths
    from tests.real_model import cache_root
    from tests.real_rule_project import Project, default_config, export_q8, pass_text
    from tests.rule_task import gguf_answers, label, split

    model = check.models["tiny-a" if check.smoke else "smollm2-135m"]
    if not check.smoke and not check.results.get("models", {}).get("smollm2_real"):
        raise RuntimeError("the real SmolLM2 is not cached on this machine (tests/real_model.py"
                           " fetches it where the package registry is reachable)")
    paths = DataPaths.at(check.work / "rule")
    project = Project(paths, Store.open(paths.db))
    train_set, held_out = split()
    label(project.store, train_set)
    questions = [q for q, _ in held_out][: 4 if check.smoke else None]
    extra = {"max_steps": 2} if check.smoke else {}
    started = time.monotonic()
    run, adapter = project.train(default_config("sft", model, **extra),
                                 project.snapshot("sft", "rule-sft"))
    trained_s = time.monotonic() - started
    tuned = pass_text(gguf_answers(str(export_q8(project, adapter)), questions))[1]
    base_gguf = next(iter(sorted((cache_root() / "smollm2").glob("*.gguf"))), None)
    base = pass_text(gguf_answers(str(base_gguf), questions))[1] \
        if base_gguf and not check.smoke else "not measured"
    return {"held_out": len(questions), "base": base, "tuned_q8_0": tuned,
            "train_wall_s": round(trained_s, 1), "run": run.id}


SECTIONS: dict[str, Callable[[Check], dict[str, Any]]] = {
    "environment": environment, "models": models, "train": train, "liger": liger,
    "memory": memory, "decode": decode, "rule_task": rule_task}


def run_section(check: Check, name: str, section: Callable[[Check], dict[str, Any]]) -> None:
    if check.left <= 0:
        line = {"section": name, "ok": False, "skipped": "the time budget is spent"}
    else:
        started = time.monotonic()
        try:
            result = section(check)
            line = {"section": name, "ok": True, **result}
            check.results[name] = result
        # A bench's fail-soft boundary: the error and traceback go into the file, and the next
        # section runs, so one broken part does not waste the GPU's minutes.
        except Exception as error:  # noqa: BLE001
            line = {"section": name, "ok": False,
                    "error": f"{type(error).__name__}: {error}"[:800],
                    "traceback": traceback.format_exc()[-2000:]}
        line["seconds"] = round(time.monotonic() - started, 1)
    print(f"[gpu_check] {name}: {'ok' if line['ok'] else 'FAILED'}"
          f" ({line.get('seconds', 0)} s)", flush=True)
    check.write(json.dumps(line, default=str))


def default_out(smoke: bool) -> Path:
    name = "cpu-smoke"
    if not smoke:
        try:
            name = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                  capture_output=True, text=True, timeout=20,
                                  check=True).stdout.splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            name = "no-gpu"
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return REPO / "bench" / "results" / f"{time.strftime('%Y-%m-%d-%H%M')}-gpu-check-{slug}.txt"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny shapes on CPU, < 2 min")
    parser.add_argument("--out", type=Path, help="the results file (default: bench/results/)")
    parser.add_argument("--budget-s", type=float, help="start no section after this (default:"
                        " 430 s on a GPU, 100 s for the smoke run)")
    parser.add_argument("--only", help="comma-separated sections (environment and models always)")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    args = parser.parse_args(argv)
    budget = args.budget_s or (100.0 if args.cpu_smoke else 430.0)
    out = args.out or default_out(args.cpu_smoke)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="gpu-check-"))
    check = Check(args.cpu_smoke, out, work, time.monotonic() + budget)
    out.write_text(f"# gpu_check {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())} on"
                   f" {platform.node()}\n# command: {shlex.join([sys.executable, *sys.argv])}\n"
                   f"# budget {budget:.0f} s; one JSON line per section, then the summary\n")
    wanted = set(args.only.split(",")) | {"environment", "models"} if args.only else None
    for name, section in SECTIONS.items():
        if wanted is None or name in wanted:
            run_section(check, name, section)
    for line in summary(check.results, check.smoke):
        check.write(line)
    print(f"[gpu_check] results: {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
