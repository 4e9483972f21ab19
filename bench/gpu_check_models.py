"""The models and the decode measurement of bench/gpu_check.py.

Models with random weights in the shapes of real ones: training and decode cost depend on the
shape, not on the values. They are Llama-architecture models (Qwen2's attention biases add
nothing measurable) with the demo model's offline SentencePiece tokenizer, so nothing is
downloaded; their vocabulary is the real model's, and the tokenizer uses its first ~1k ids
(llama.cpp's converter pads the vocabulary up to the config's size).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

# config.json fields of each shape (head_dim is hidden / heads unless given).
SHAPES: dict[str, dict[str, Any]] = {
    "smollm2-135m": {"hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
                     "num_attention_heads": 9, "num_key_value_heads": 3, "vocab_size": 49152,
                     "tie_word_embeddings": True},
    "qwen2.5-0.5b": {"hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
                     "num_attention_heads": 14, "num_key_value_heads": 2, "vocab_size": 151936,
                     "tie_word_embeddings": True},
    "llama-3.2-1b": {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
                     "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
                     "tie_word_embeddings": True, "head_dim": 64},
    # The CPU smoke run's stand-ins: the same code path at a size two cores train in seconds.
    "tiny-a": {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
               "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 2048,
               "tie_word_embeddings": True},
    "tiny-b": {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2,
               "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 4096,
               "tie_word_embeddings": False},
}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "config.json")


def demo_tokenizer(work: Path) -> Path:
    """The demo model's folder (its tokenizer files are reused by every shaped model)."""
    from backends.demo_model import build_demo_model

    folder = work / "demo"
    return folder if (folder / "config.json").is_file() else build_demo_model(folder)


def shaped_model(name: str, work: Path, dtype: str) -> Path:
    """A random-weight model of ``SHAPES[name]`` saved in ``dtype`` (bf16 on a GPU)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    demo = demo_tokenizer(work)
    out = work / name
    if (out / "model.safetensors").is_file() or (out / "model.safetensors.index.json").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    for item in demo.iterdir():
        if item.is_file() and item.name not in WEIGHT_FILES:
            shutil.copy2(item, out / item.name)
    base = LlamaConfig.from_pretrained(demo)
    shape = dict(SHAPES[name])
    config = LlamaConfig(**{**{k: getattr(base, k) for k in ("bos_token_id", "eos_token_id",
                                                             "pad_token_id")},
                            "max_position_embeddings": 4096, **shape})
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    with torch.device(device):
        model = LlamaForCausalLM(config).to(getattr(torch, dtype))
    model.save_pretrained(out)
    return out


def read_bandwidth_gbs() -> tuple[float, str]:
    """(GB/s, how): the memory bandwidth that bounds decode. CUDA: a 2 GiB device-to-device
    copy, counting the bytes read and written (what HBM moves per second; decode only reads,
    so this is its ceiling); CPU: numpy sums, reads only (bench/bench_real.py)."""
    import torch

    if not torch.cuda.is_available():
        from bench.bench_real import read_bandwidth_gbs as cpu_bandwidth

        return cpu_bandwidth(256), "numpy sum, 1 thread"
    data = torch.empty(2 * 2**30, dtype=torch.uint8, device="cuda")
    copy = torch.empty_like(data)
    best = float("inf")
    for _ in range(5):
        torch.cuda.synchronize()
        start = time.perf_counter()
        copy.copy_(data)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    del data, copy
    torch.cuda.empty_cache()
    return 2 * 2**30 * 2 / best / 1e9, "device-to-device copy, read + write bytes"


def to_gguf(model_dir: Path, out: Path, quants: tuple[str, ...]) -> dict[str, Path]:
    """F16 with llama.cpp's own converter (as the export does), then each quant."""
    from backends.lib.export_gguf import quantize
    from studio.registry.converter import convert_command, converter_env, prepare_converter

    prepare_converter()
    out.mkdir(parents=True, exist_ok=True)
    f16 = out / "model-F16.gguf"
    if not f16.is_file():
        subprocess.run(convert_command(model_dir, f16, "f16"), env=converter_env(), check=True,
                       capture_output=True, timeout=600)
    files = {"F16": f16}
    for quant in quants:
        files[quant] = quantize(f16, out / f"model-{quant}.gguf", quant)
    return files


def decode_rate(gguf: Path, tokens: int, repeats: int = 3) -> dict[str, Any]:
    """Greedy decode through llama-cpp-python with every layer offloaded (a CUDA build puts
    them on the GPU; a CPU build ignores it), timed from the first token."""
    import llama_cpp
    from llama_cpp import Llama

    from bench.bench_real import greedy_decode_rate

    llm = Llama(str(gguf), n_ctx=512, n_gpu_layers=-1, verbose=False, seed=0)
    try:
        prompt = llm.tokenize(b"The river bends past the old mill", add_bos=False)
        rate = greedy_decode_rate(llm, prompt, tokens, repeats)
        return {"tokens_per_s": round(rate, 1),
                "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload())}
    finally:
        llm.close()


def decode_shares(model_dir: Path, out: Path, quants: tuple[str, ...], tokens: int,
                  bandwidth_gbs: float) -> dict[str, Any]:
    """Each quant's decode rate as a share of the bandwidth ceiling (weight bytes per token)."""
    from bench.bench_real import weight_bytes

    results: dict[str, Any] = {}
    for quant, gguf in to_gguf(model_dir, out, quants).items():
        if quant == "F16":
            continue
        size = weight_bytes(gguf)
        rate = decode_rate(gguf, tokens)
        ceiling = bandwidth_gbs * 1e9 / size
        results[quant] = {**rate, "weights_mb": round(size / 2**20),
                          "ceiling_tokens_per_s": round(ceiling, 1),
                          "share_of_bandwidth": round(rate["tokens_per_s"] / ceiling, 3)}
    return results
