"""Export, step 1: check the inputs and merge a LoRA adapter into its base model.

The checks run before any heavy work so a person hears at once what is wrong: an architecture
llama.cpp's converter does not know (named), or a model folder without tokenizer files. The
merge writes safetensors, then copies the tokenizer files over byte for byte: transformers 5's
``save_pretrained`` drops ``tokenizer.model`` and the ``add_bos_token``-style keys, and without
them llama.cpp tokenizes differently from training ("gibberish after GGUF import").
"""

from __future__ import annotations

import errno
import json
import re
import shutil
from pathlib import Path
from typing import Any

from studio.errors import DiskFullError as StudioDiskFullError
from studio.errors import StudioError
from studio.registry.safety import check_model_folder

# Copied verbatim from the tokenizer's source folder into the merged folder.
TOKENIZER_FILES = (
    "tokenizer.model",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "chat_template.jinja",
    "chat_template.json",
    "vocab.json",
    "merges.txt",
    "generation_config.json",
)
_REGISTER = re.compile(r"@ModelBase\.register\(([^)]*)\)", re.DOTALL)
_QUOTED = re.compile(r"[\"']([A-Za-z0-9_]+)[\"']")


class ExportError(StudioError):
    """An export that cannot go on; the message says what to fix."""


class UnsupportedArchitectureError(ExportError):
    """llama.cpp's converter has no support for the model's architecture."""


class MissingTokenizerError(ExportError):
    """The model folder lacks the tokenizer files the converter needs."""


class PreTokenizerError(ExportError):
    """The converter does not recognize the model's BPE pre-tokenizer."""


class DiskFullError(ExportError, StudioDiskFullError):
    """The export ran out of disk space while writing."""


class NotEnoughSpaceError(ExportError):
    """The free-space pre-check: the export would not fit; nothing was written yet."""


class ExportCancelledError(ExportError):
    """The person cancelled the export."""


def read_config(model_dir: Path) -> dict[str, Any]:
    path = model_dir / "config.json"
    if not path.is_file():
        raise ExportError(f"{model_dir} holds no config.json: not a Hugging Face model folder")
    return json.loads(path.read_text(encoding="utf-8"))


def supported_architectures(converter: Path) -> set[str]:
    """The architecture class names registered with the converter (read from its sources)."""
    names: set[str] = set()
    for source in [converter / "convert_hf_to_gguf.py", *converter.glob("conversion/*.py")]:
        for call in _REGISTER.findall(source.read_text(encoding="utf-8")):
            names.update(_QUOTED.findall(call))
    return names


def check_architecture(model_dir: Path, converter: Path) -> str:
    architectures = read_config(model_dir).get("architectures") or []
    if not architectures:
        raise UnsupportedArchitectureError(
            f"{model_dir / 'config.json'}, field 'architectures': missing, so llama.cpp cannot"
            " tell which model this is")
    name = architectures[0]
    if name not in supported_architectures(converter):
        raise UnsupportedArchitectureError(
            f"llama.cpp's converter does not support the architecture {name}"
            f" ({model_dir / 'config.json'}); GGUF export is not possible for this model")
    return name


def tokenizer_source(adapter_dir: Path | None, base_dir: Path) -> Path:
    """Where the tokenizer comes from: the base model's own files, which training does not
    change; an adapter's copy only when the base has none. (An adapter folder's tokenizer may
    have been re-saved by transformers 5, which drops settings such as ``add_bos_token``.)"""
    base_has_files = (base_dir / "tokenizer_config.json").is_file()
    if adapter_dir is not None and not base_has_files \
            and (adapter_dir / "tokenizer_config.json").is_file():
        return adapter_dir
    return base_dir


def check_tokenizer_files(folder: Path) -> None:
    has_config = (folder / "tokenizer_config.json").is_file()
    has_vocab = any((folder / n).is_file() for n in ("tokenizer.model", "tokenizer.json",
                                                      "vocab.json"))
    if not (has_config and has_vocab):
        missing = [n for n, ok in (("tokenizer_config.json", has_config),
                                   ("tokenizer.model or tokenizer.json", has_vocab)) if not ok]
        raise MissingTokenizerError(
            f"{folder} lacks {' and '.join(missing)}: the GGUF needs the tokenizer. Copy the"
            " tokenizer files of the base model into this folder")


def copy_tokenizer_files(source: Path, target: Path) -> list[str]:
    copied = []
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, target / name)
            copied.append(name)
    return copied


def adapter_base_dir(adapter_dir: Path) -> Path:
    """The base model folder recorded in the adapter's config (when it is a local folder)."""
    config_path = adapter_dir / "adapter_config.json"
    if not config_path.is_file():
        raise ExportError(f"{adapter_dir} holds no adapter_config.json: not a PEFT adapter")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    base = config.get("base_model_name_or_path")
    if not base or not Path(base).is_dir():
        raise ExportError(
            f"{config_path}, field 'base_model_name_or_path': {base!r} is not a local folder;"
            " pass the base model folder explicitly")
    return Path(base)


def merge_adapter(base_dir: Path, adapter_dir: Path, out_dir: Path) -> Any:
    """Merge ``adapter_dir`` into ``base_dir``, save to ``out_dir``; return the merged model."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    check_model_folder(base_dir)
    check_model_folder(adapter_dir, "adapter")
    base = AutoModelForCausalLM.from_pretrained(base_dir, dtype="auto", trust_remote_code=False,
                                                use_safetensors=True)
    # PEFT reads adapter_model.safetensors first; the check above refused pickle-only folders.
    model = PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()
    model.eval()
    # The converter reads the weights as saved; float32 LoRA math keeps the merge exact.
    with torch.no_grad():
        save_or_disk_full(lambda: model.save_pretrained(out_dir), out_dir)
    copy_tokenizer_files(tokenizer_source(adapter_dir, base_dir), out_dir)
    return model


def save_or_disk_full(write: Any, where: Path) -> None:
    try:
        write()
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise DiskFullError(f"the disk holding {where} is full; free some space and"
                                " export again") from error
        raise
    except RuntimeError as error:
        # torch/safetensors wrap ENOSPC in a RuntimeError with the C message.
        if "No space left on device" in str(error):
            raise DiskFullError(f"the disk holding {where} is full; free some space and"
                                " export again") from error
        raise


def check_free_space(folder: Path, needed: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise NotEnoughSpaceError(
            f"the disk is too full for this export: it needs about {_size(needed)} in {folder} but"
            f" only {_size(free)} is free; free some space or export fewer quantizations")


def _size(count: int) -> str:
    """Bytes in a unit that keeps the figure honest: never "0.01 GB" (nor "0 MB")."""
    if count >= 10**10:
        return f"{count / 1e9:.0f} GB"
    if count >= 10**9:
        return f"{count / 1e9:.1f} GB"
    return f"{count / 1e6:.0f} MB" if count >= 10**6 else f"{max(count, 0) / 1e3:.0f} kB"
