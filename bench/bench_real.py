"""The real-model benchmark: SmolLM2-135M-Instruct (converted from its GGUF, cached).

    python bench/bench_real.py [--tokens 128] [--repeats 3] [--threads 2] [--out DIR]

1. Export: the real ``python -m backends.export`` (F16 + self-check + Q8_0 + Q4_K_M) against
   the raw converter plus the quantizer alone, on the same model.
2. Chat decode tokens/s for each GGUF: the chat worker over its JSON-lines protocol,
   llama-cpp-python called directly (the same generate loop, no protocol), and transformers
   ``generate`` on the HF folder; each llama.cpp rate also as a share of the memory-bandwidth
   ceiling (bytes of weights read per token x tokens/s, over the measured read bandwidth).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_chat import PROMPT, hf_run, worker_run
from tests.real_model import smollm2_hf

QUANTS = ("Q8_0", "Q4_K_M")


def read_bandwidth_gbs(size_mb: int = 512, repeats: int = 5, threads: int = 1) -> float:
    """Read-only memory bandwidth: the best of a few sums over an array larger than cache,
    split over ``threads`` (numpy releases the GIL while it sums)."""
    import numpy as np

    data = np.ones(size_mb * 2**20 // 8, dtype=np.float64)
    parts = np.array_split(data, threads)
    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(repeats):
            start = time.perf_counter()
            list(pool.map(np.sum, parts))
            best = min(best, time.perf_counter() - start)
    return data.nbytes / best / 1e9


def direct_rate(gguf: Path, tokens: int, repeats: int, threads: int,
                extra_layouts: bool = True) -> float:
    """llama-cpp-python's own generate loop, greedy, timed from the first token.

    ``extra_layouts=False`` loads the way the chat worker did before it kept llama.cpp's
    repacked weight layouts on CPUs without AMX (``use_extra_bufts`` off)."""
    import llama_cpp.llama as llama_module
    from llama_cpp import Llama

    original = llama_module.llama_cpp.llama_model_default_params

    def defaults() -> object:
        params = original()
        params.use_extra_bufts = extra_layouts
        return params

    llama_module.llama_cpp.llama_model_default_params = defaults
    try:
        llm = Llama(str(gguf), n_ctx=1024, n_threads=threads, verbose=False)
    finally:
        llama_module.llama_cpp.llama_model_default_params = original
    try:
        prompt = llm.tokenize(_render(llm).encode(), add_bos=False, special=True)
        return greedy_decode_rate(llm, prompt, tokens, repeats)
    finally:
        llm.close()


def greedy_decode_rate(llm: Any, prompt: list[int], tokens: int, repeats: int) -> float:
    """Median greedy decode tokens/s over ``repeats`` runs, first token to last (the prompt's
    processing is left out: it is not decode)."""
    rates = []
    for _ in range(repeats):
        stamps = []
        for _token in llm.generate(prompt, top_k=1, temp=0.0, reset=True):
            stamps.append(time.perf_counter())
            if len(stamps) >= tokens:
                break
        rates.append((len(stamps) - 1) / (stamps[-1] - stamps[0]))
    return statistics.median(rates)


def _render(llm: object) -> str:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    template = llm.metadata["tokenizer.chat_template"]  # type: ignore[attr-defined]
    return ImmutableSandboxedEnvironment().from_string(template).render(
        messages=PROMPT, add_generation_prompt=True)


def weight_bytes(gguf: Path) -> int:
    """Bytes read per decoded token: every weight once (the tied embedding is only indexed
    for the input, but its matrix is read whole as the output projection)."""
    from studio.registry.gguf_info import read_gguf_info

    return read_gguf_info(gguf).size_bytes


def bench_export(model: Path, out: Path) -> dict[str, Path]:
    """The export job through the launcher, its time per stage (from its ``finished`` event),
    and the raw converter + quantizer on the same model right after."""
    from studio.events import Event
    from studio.jobs.launch import run_foreground
    from studio.registry.export_config import create_export_job

    job = create_export_job(out, out=out / "job", model=model, quants=list(QUANTS))
    started = time.time()
    events: list[Event] = []
    last = run_foreground("export", job, events.append)
    wall = time.time() - started
    if last is None or last.event != "finished":
        raise SystemExit(f"the export did not finish: {last}")
    print(f"export pipeline (F16 + self-check + {' + '.join(QUANTS)}): {wall:6.1f} s")
    print(f"  {events[0].t - started:6.1f} s  process start to its first event (imports)")
    for stage in last.get("stage_s") or []:  # older pipelines did not time their stages
        print(f"  {stage['s']:6.1f} s  {stage['stage']}")
    for output in last.get("outputs"):
        check = output["selfcheck"]
        print(f"  {output['quant']:7} {output['size_bytes'] / 2**20:6.0f} MiB  self-check"
              f" {check['share']:.0%} of {check['tokens']} tokens"
              f" ({'passed' if check['passed'] else 'MISMATCH'})")
    raw, stages = raw_export(model, out / "raw")
    print(f"raw converter + quantizer alone: {raw:6.1f} s  (pipeline / raw = {wall / raw:.2f}x)")
    for label, seconds in stages:
        print(f"  {seconds:6.1f} s  {label}")
    return {o["quant"]: Path(o["path"]) for o in last.get("outputs")}


def raw_export(model: Path, out: Path) -> tuple[float, list[tuple[str, float]]]:
    from backends.lib.export_gguf import quantize
    from studio.registry.converter import convert_command, converter_env, prepare_converter

    prepare_converter()
    out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    subprocess.run(convert_command(model, out / "f16.gguf", "f16"), env=converter_env(),
                   check=True, capture_output=True)
    stages = [("convert F16 (converter process)", time.time() - started)]
    for quant in QUANTS:
        before = time.time()
        quantize(out / "f16.gguf", out / f"{quant}.gguf", quant)
        stages.append((f"quantize {quant}", time.time() - before))
    return time.time() - started, stages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--export-only", action="store_true", help="skip the decode part")
    parser.add_argument("--decode-only", action="store_true",
                        help="reuse the GGUFs an earlier run exported into --out")
    args = parser.parse_args()
    cpu = platform.processor() or platform.machine()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {cpu} ·"
          f" Python {platform.python_version()} · threads {args.threads}")
    model = smollm2_hf()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-real-"))
    if args.decode_only:
        ggufs = {q: out / "job" / f"model-{q}.gguf" for q in ("F16", *QUANTS)}
    else:
        ggufs = bench_export(model, out)
    if args.export_only:
        return 0
    bandwidth = read_bandwidth_gbs()
    print(f"\nread bandwidth (numpy sum, best of 5): {bandwidth:.1f} GB/s")
    hf_rate, hf_ttft = hf_run(model, args.tokens, args.repeats)
    print(f"{'engine':34} {'tok/s':>8} {'TTFT s':>7} {'of ceiling':>11}")
    print(f"{'transformers generate (fp32)':34} {hf_rate:8.1f} {hf_ttft:7.3f} {'':>11}")
    for quant, gguf in ggufs.items():
        ceiling = bandwidth * 1e9 / weight_bytes(gguf)
        rate, ttft = worker_run(gguf, args.tokens, args.repeats)
        direct = direct_rate(gguf, args.tokens, args.repeats, args.threads)
        plain = direct_rate(gguf, args.tokens, args.repeats, args.threads, extra_layouts=False)
        print(f"{'chat worker ' + quant:34} {rate:8.1f} {ttft:7.3f} {rate / ceiling:10.0%}"
              f"  worker/direct {rate / direct:.2f}")
        print(f"{'llama-cpp-python direct ' + quant:34} {direct:8.1f} {'':>7}"
              f" {direct / ceiling:10.0%}")
        print(f"{'  direct, repacked layouts off':34} {plain:8.1f} {'':>7}"
              f" {plain / ceiling:10.0%}")
        print(f"{'  ceiling ' + quant:34} {ceiling:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
