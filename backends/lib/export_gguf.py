"""Export, steps 2-4: convert to GGUF with llama.cpp's own converter, quantize, write Modelfiles.

The converter runs as a child process (an argument list, never a shell) with the gguf-py of the
same llama.cpp; its output goes to a log, and its known failures become named errors. Every file
is written under a ``.partial`` name and renamed when complete, so a cancelled or failed export
never leaves a file that looks finished.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from ctypes import byref
from pathlib import Path

from backends.lib.export_gguf_file import read_gguf
from backends.lib.export_merge import (
    DiskFullError,
    ExportError,
    PreTokenizerError,
    UnsupportedArchitectureError,
)
from backends.lib.export_tokenizer import fix_space_prefix
from studio.registry.converter import convert_command, convert_lora_command, converter_env
from studio.registry.safety import check_model_folder

# The quantizations offered, most faithful first. F16 is the converter's own output.
QUANT_TYPES = ("F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0")
PARTIAL = ".partial"


def partial_path(final: Path) -> Path:
    return final.with_name(final.name + PARTIAL)


def publish(partial: Path, final: Path) -> Path:
    """Rename a complete file into place (atomic on one file system)."""
    os.replace(partial, final)
    return final


def run_converter(command: list[str], log_path: Path, poll: Callable[[], None]) -> None:
    """Run a converter command, logging its output; raise a named error when it fails.

    ``poll`` is called about 5 times a second while it runs (it raises to cancel).
    """
    with log_path.open("a", encoding="utf-8") as log:
        log.write("$ " + " ".join(command) + "\n")
        log.flush()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   env=converter_env(), stdin=subprocess.DEVNULL)
        try:
            while True:
                try:
                    returncode = process.wait(timeout=0.2)
                    break
                except subprocess.TimeoutExpired:
                    poll()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if returncode != 0:
        raise converter_error(log_path.read_text(encoding="utf-8", errors="replace"), log_path)


def converter_error(output: str, log_path: Path) -> ExportError:
    """The named error for a failed converter run, from what it printed."""
    tail = "\n".join(output.strip().splitlines()[-6:])
    if "pre-tokenizer was not recognized" in output:
        return PreTokenizerError(
            "llama.cpp's converter does not recognize this model's BPE pre-tokenizer (its"
            " tokenizer.json is not one llama.cpp knows), so the GGUF would tokenize wrongly."
            f" Use a model whose tokenizer llama.cpp supports. Log: {log_path}")
    if "is not supported" in output and "Model " in output:
        line = next(ln for ln in output.splitlines() if "is not supported" in ln)
        return UnsupportedArchitectureError(f"llama.cpp's converter: {line.split(':')[-1].strip()}")
    if "No space left on device" in output:
        return DiskFullError(f"the disk filled up while writing the GGUF. Log: {log_path}")
    return ExportError(f"llama.cpp's converter failed:\n{tail}\nFull log: {log_path}")


def convert_model(model_dir: Path, outfile: Path, log_path: Path,
                  poll: Callable[[], None]) -> Path:
    """Convert a saved HF model to an F16 GGUF at ``outfile``."""
    # The converter passes trust_remote_code=True for some tokenizers: never on a refused folder.
    check_model_folder(model_dir)
    partial = partial_path(outfile)
    run_converter(convert_command(model_dir, partial, "f16"), log_path, poll)
    read_gguf(partial)  # a converter that exits 0 but wrote a damaged file is still a failure
    fix_space_prefix(partial, model_dir, log_path)  # what the converter writes for Llama only
    return publish(partial, outfile)


def convert_lora(base_dir: Path, adapter_dir: Path, outfile: Path, log_path: Path,
                 poll: Callable[[], None]) -> Path:
    """Convert a PEFT LoRA adapter to an adapter-only GGUF (F16)."""
    check_model_folder(base_dir)
    check_model_folder(adapter_dir, "adapter")
    partial = partial_path(outfile)
    run_converter(convert_lora_command(base_dir, adapter_dir, partial, "f16"), log_path, poll)
    read_gguf(partial)
    return publish(partial, outfile)


def quantize(source: Path, outfile: Path, quant: str, threads: int = 0) -> Path:
    """Quantize an F16 GGUF in-process through llama.cpp's API."""
    import llama_cpp

    if quant not in QUANT_TYPES or quant == "F16":
        raise ExportError(f"cannot quantize to {quant!r}; choose one of {', '.join(QUANT_TYPES)}")
    partial = partial_path(outfile)
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{quant}")
    params.nthread = threads
    status = llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(),
                                            byref(params))
    if status != 0:
        partial.unlink(missing_ok=True)
        free = os.statvfs(outfile.parent).f_bavail * os.statvfs(outfile.parent).f_frsize
        if free < source.stat().st_size // 2:
            raise DiskFullError(f"quantizing to {quant} failed: the disk holding"
                                f" {outfile.parent} is (nearly) full")
        raise ExportError(f"llama.cpp could not quantize {source.name} to {quant}"
                          f" (status {status})")
    read_gguf(partial)
    return publish(partial, outfile)


CHATML_TEMPLATE = (
    '{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n'
    '{{ end }}<|im_start|>assistant\n'
)


def default_system_prompt(chat_template: str | None) -> str | None:
    """The system turn a ChatML template inserts when a conversation has none (SmolLM2's "You
    are a helpful AI assistant named SmolLM..."). Training rendered every example through the
    template, so every example contained it; the served model must see it too."""
    if not chat_template or "<|im_start|>" not in chat_template:
        return None
    from jinja2 import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    marker = "\x00user-turn\x00"
    try:
        rendered = ImmutableSandboxedEnvironment().from_string(chat_template).render(
            messages=[{"role": "user", "content": marker}], add_generation_prompt=False,
            bos_token="", eos_token="")
    except TemplateError:
        return None  # a template jinja2 cannot render here: no default to carry over
    head = rendered.split(marker, 1)[0]
    start = head.find("<|im_start|>system\n")
    if start < 0:
        return None
    body = head[start + len("<|im_start|>system\n"):]
    return body.split("<|im_end|>", 1)[0] or None


def write_modelfile(gguf: Path, stop: str | None, chat_template: str | None) -> Path:
    """An Ollama Modelfile beside ``gguf`` (``ollama create NAME -f THIS``)."""
    lines = [f"FROM ./{gguf.name}"]
    if chat_template and "<|im_start|>" in chat_template:
        # Ollama templates are Go templates; ChatML is translated, other templates are read by
        # Ollama from the GGUF's own tokenizer.chat_template.
        lines.append(f'TEMPLATE """{CHATML_TEMPLATE}"""')
        system = default_system_prompt(chat_template)
        if system:
            # Ollama adds SYSTEM as the first message when a request has none, as the
            # template did for every training example.
            lines.append(f'SYSTEM """{system.replace(chr(34) * 3, chr(39) * 3)}"""')
    if stop:
        lines.append(f'PARAMETER stop "{stop}"')
    path = gguf.with_suffix(".Modelfile")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
