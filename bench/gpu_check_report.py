"""The summary lines at the end of bench/gpu_check.py's results file: the ratios side by side,
with the published anchors beside them and the goal's verdict."""

from __future__ import annotations

from typing import Any

ANCHORS = (
    "anchors: plain HF vs Unsloth on TinyLlama-1.1B: 1.55x tokens/s with HF + FlashAttention 2,"
    " 2.74x with Unsloth, 58% less memory; Liger kernels on Llama-3-8B: about +20% throughput"
    " and -60% memory",
    "goal: the studio >= 1.5x plain TRL's tokens/s for LoRA SFT on the 0.5B shape, <= 0.7x its"
    " peak memory; every pre-flight estimate within +-15% of the measured peak",
)
GOAL_MODEL = "qwen2.5-0.5b"
TOLERANCE = 0.15


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def _by_name(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    runs = [*results.get("train", {}).get("runs", []), *results.get("liger", {}).get("runs", [])]
    return {run["name"]: run for run in runs}


def _fmt(value: Any) -> str:
    return "-" if value is None else str(value)


def train_lines(runs: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["## studio defaults vs plain TRL (tokens/s, peak MB, estimate MB and its error)"]
    for name, studio in runs.items():
        if not name.endswith("/studio"):
            continue
        plain = runs.get(name.removesuffix("/studio") + "/plain", {})
        error = _ratio(studio.get("estimate_mb"), studio.get("peak_mb"))
        lines.append(
            f"{name.removesuffix('/studio'):28} studio {_fmt(studio.get('tokens_per_s')):>9}"
            f" tok/s {_fmt(studio.get('peak_mb')):>7} MB | plain"
            f" {_fmt(plain.get('tokens_per_s')):>9}"
            f" tok/s {_fmt(plain.get('peak_mb')):>7} MB | speed x"
            f"{_fmt(_ratio(studio.get('tokens_per_s'), plain.get('tokens_per_s')))} memory x"
            f"{_fmt(_ratio(studio.get('peak_mb'), plain.get('peak_mb')))} | estimate"
            f" {_fmt(studio.get('estimate_mb'))} MB"
            f" ({'-' if error is None else format(error - 1, '+.3f')})"
            + ("" if studio.get("ok") and plain.get("ok", True) else
               f" | FAILED: {studio.get('error') or plain.get('error')}"[:300]))
    return lines


def variant_lines(runs: dict[str, dict[str, Any]]) -> list[str]:
    """bf16 vs fp32, QLoRA vs LoRA, Liger on vs off: each against the default studio run."""
    lines = ["## variants of the studio's SFT (ratio = variant / default)"]
    for name, run in runs.items():
        if "/studio-" not in name:
            continue
        base = runs.get(name.split("/studio-")[0] + "/studio", {})
        if not run.get("ok"):
            lines.append(f"{name:40} FAILED: {run.get('error')}"[:300])
            continue
        lines.append(
            f"{name:40} {_fmt(run.get('tokens_per_s')):>9} tok/s {_fmt(run.get('peak_mb')):>7} MB"
            f" | speed x{_fmt(_ratio(run.get('tokens_per_s'), base.get('tokens_per_s')))}"
            f" memory x{_fmt(_ratio(run.get('peak_mb'), base.get('peak_mb')))}")
    return lines


def memory_lines(results: dict[str, Any]) -> list[str]:
    rows = results.get("memory", {}).get("rows", [])
    if not rows:
        return []
    lines = ["## pre-flight estimate vs measured peak (bench/bench_memory.py)"]
    for row in rows:
        if "error" not in row:
            lines.append(f"{row.get('method')}: {row.get('error_text')}"[:300])
            continue
        verdict = "ok" if abs(row["error"]) <= TOLERANCE else "OUTSIDE +-15%"
        lines.append(f"{row['method']:6} {row['size']:10} peak {row['peak_mb']:>7} MB estimate"
                     f" {row['estimate_mb']:>7} MB error {row['error']:+.3f} {verdict}")
    return lines


def decode_lines(results: dict[str, Any]) -> list[str]:
    decode = results.get("decode", {})
    if not decode:
        return []
    lines = [f"## llama.cpp decode vs the bandwidth ceiling ({decode.get('read_bandwidth_gbs')}"
             f" GB/s read, {decode.get('bandwidth_how')})"]
    for model, quants in decode.items():
        if not isinstance(quants, dict):
            continue
        for quant, row in quants.items():
            if isinstance(row, dict):
                lines.append(f"{model:14} {quant:7} {row.get('tokens_per_s')} tok/s of"
                             f" {row.get('ceiling_tokens_per_s')} ceiling ="
                             f" {row.get('share_of_bandwidth')} (GPU offload"
                             f" {row.get('gpu_offload')})")
            else:
                lines.append(f"{model:14} {quant}: {row}"[:300])
    return lines


def goal_line(runs: dict[str, dict[str, Any]]) -> str:
    studio = runs.get(f"{GOAL_MODEL}/sft/studio", {})
    plain = runs.get(f"{GOAL_MODEL}/sft/plain", {})
    speed = _ratio(studio.get("tokens_per_s"), plain.get("tokens_per_s"))
    memory = _ratio(studio.get("peak_mb"), plain.get("peak_mb"))
    if speed is None or memory is None:
        return "verdict: the goal's runs did not both finish"
    met = speed >= 1.5 and memory <= 0.7
    return (f"verdict: LoRA SFT on the 0.5B shape: speed x{speed}, memory x{memory}:"
            f" goal {'met' if met else 'NOT met'}")


def summary(results: dict[str, Any], smoke: bool) -> list[str]:
    runs = _by_name(results)
    lines = ["", "# summary" + (" (CPU smoke run: the figures check the path, not speed)"
                                if smoke else "")]
    lines += [*train_lines(runs), *variant_lines(runs)]
    if results.get("liger", {}).get("liger_kernel_installed") is False:
        lines.append("(liger-kernel is not installed: the no-liger run equals the default one)")
    lines += [*memory_lines(results), *decode_lines(results)]
    rule = results.get("rule_task")
    if rule:
        lines.append(f"## rule task through the exported Q8_0 GGUF: base {rule['base']},"
                     f" tuned {rule['tuned_q8_0']}")
    lines += [f"# {anchor}" for anchor in ANCHORS]
    lines.append("# " + goal_line(runs))
    return lines
