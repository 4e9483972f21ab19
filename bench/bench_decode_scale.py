"""Chat decode as a share of the memory-bandwidth ceiling, against model size.

    python bench/bench_decode_scale.py [--gguf-dir DIR] [--tokens 64] [--repeats 2]

At 135M parameters a decoded token costs a few milliseconds that do not depend on the weights
(graph build, thread barriers, sampling), so the share of the ceiling says little about the
engine. This bench adds a model of TinyLlama-1.1B's shape (22 layers, width 2048, grouped-query
attention) with random weights and SmolLM2's tokenizer: decode reads the same bytes per token
whatever the weights' values, so its rates are those of a real model of that size. Both are
run through the chat worker and llama-cpp-python directly, side by side, at 1 and 2 threads.

The ceiling is bytes of weights per token over the best measured read bandwidth: one numpy
sum, and two threads summing halves of the array (numpy releases the GIL), so a 2-thread decode
is held against a 2-thread bandwidth.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_chat import worker_run
from bench.bench_real import direct_rate, read_bandwidth_gbs, weight_bytes
from tests.real_model import cache_root, smollm2_hf

SHAPE_1B = {"hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22,
            "num_attention_heads": 32, "num_key_value_heads": 4}


def random_1b(out: Path) -> Path:
    """A Llama of TinyLlama-1.1B's shape with random weights, saved in fp16 with SmolLM2's
    tokenizer and chat template (made once, about 2.2 GB)."""
    if (out / "model.safetensors").is_file():
        return out
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    source = smollm2_hf()
    config = AutoConfig.from_pretrained(source)
    for key, value in SHAPE_1B.items():
        setattr(config, key, value)
    config.head_dim = config.hidden_size // config.num_attention_heads
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float16)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(source).save_pretrained(out)
    return out


def convert(model_dir: Path, outfile: Path, outtype: str) -> Path:
    from studio.registry.converter import convert_command, converter_env, prepare_converter

    if not outfile.is_file():
        prepare_converter()
        subprocess.run(convert_command(model_dir, outfile, outtype), env=converter_env(),
                       check=True, capture_output=True)
    return outfile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gguf-dir", type=Path, default=None,
                        help="folder with SmolLM2's model-Q8_0.gguf (bench_real.py's job/)")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} ·"
          f" {platform.processor() or platform.machine()} · Python {platform.python_version()}")
    work = cache_root() / "random-1b"
    models = {"1.1B-shape Q8_0": convert(random_1b(work / "hf"), work / "q8_0.gguf", "q8_0")}
    if args.gguf_dir:
        models = {"SmolLM2-135M Q8_0": args.gguf_dir / "model-Q8_0.gguf", **models}
    bandwidth = {n: read_bandwidth_gbs(1024, threads=n) for n in (1, 2)}
    print("read bandwidth (numpy sums, best of 5): "
          + ", ".join(f"{n} thread(s) {gbs:.1f} GB/s" for n, gbs in bandwidth.items()))
    print(f"{'model':20} {'engine':18} {'thr':>3} {'MB/token':>9} {'tok/s':>7}"
          f" {'ceiling':>8} {'share':>6}")
    for name, gguf in models.items():
        size = weight_bytes(gguf)
        rows = [("chat worker", 2, worker_run(gguf, args.tokens, args.repeats)[0])]
        rows += [("direct", n, direct_rate(gguf, args.tokens, args.repeats, n)) for n in (1, 2)]
        for engine, threads, rate in rows:
            ceiling = bandwidth[threads] * 1e9 / size
            print(f"{name:20} {engine:18} {threads:3} {size / 1e6:9.0f} {rate:7.1f}"
                  f" {ceiling:8.1f} {rate / ceiling:6.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
