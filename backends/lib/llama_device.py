"""Which backend llama.cpp decodes on, for the workers' ``loaded`` events.

Every worker asks for all layers on the GPU (``n_gpu_layers=-1``); a CPU-only build of
llama.cpp ignores that, so one setting serves CUDA, Metal and CPU machines alike.
"""

from __future__ import annotations

import functools

ALL_LAYERS = -1


@functools.cache
def decode_backend() -> str:
    """"cuda", "metal", "vulkan", "hip", "sycl", "gpu" (another offloading build) or "cpu"."""
    import llama_cpp

    if not llama_cpp.llama_supports_gpu_offload():
        return "cpu"
    info = llama_cpp.llama_print_system_info().decode("utf-8", errors="replace").upper()
    for name in ("CUDA", "METAL", "VULKAN", "HIP", "SYCL"):
        if name in info:
            return name.lower()
    return "gpu"
