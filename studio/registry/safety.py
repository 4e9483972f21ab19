"""Model code never runs: the one check every backend makes before loading a model folder.

A Hugging Face folder can carry Python (``auto_map`` in its configs points transformers, and
llama.cpp's converter, which passes ``trust_remote_code=True`` for some tokenizers, at a
``.py`` file in the folder) and pickle weights (``pytorch_model.bin``, ``adapter_model.bin``:
unpickling runs code). Both are refused here, before any transformers or llama.cpp call, so
the loaders only ever see folders whose config is data and whose weights are safetensors.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.errors import StudioError

# The configs transformers and PEFT read to pick classes; any of them can name custom code.
CONFIG_FILES = ("config.json", "tokenizer_config.json", "adapter_config.json",
                "processor_config.json", "preprocessor_config.json", "generation_config.json")
CODE_KEYS = ("auto_map", "auto_mapping")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# Weight files outside the folder's own code: tokenizers and training states are not weights.
NOT_WEIGHTS = ("training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth",
               "scaler.pt")


class UnsafeModelError(StudioError):
    """A model folder that would run code from the folder if it were loaded."""


def check_model_folder(path: Path | str, what: str = "model") -> None:
    """Raise UnsafeModelError for a folder that needs custom code or has only pickle weights.

    A path that is not a folder (a hub id not downloaded yet, a GGUF file) is left to the
    loader: GGUF holds no code, and a download is checked once it is on disk."""
    folder = Path(path)
    if not folder.is_dir():
        return
    for name in CONFIG_FILES:
        _check_config(folder / name, what)
    _check_weights(folder, what)


def _check_config(config: Path, what: str) -> None:
    if not config.is_file():
        return
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnsafeModelError(f"{config}: the {what}'s {config.name} is not readable JSON"
                               f" ({error}); repair or re-download the folder") from error
    if not isinstance(data, dict):
        return
    for key in CODE_KEYS:
        if data.get(key) and not _peft_base_record(config.name, key, data[key]):
            targets = ", ".join(sorted(_code_targets(data[key])))
            raise UnsafeModelError(
                f"{config}, field '{key}': this {what} needs custom Python code from its folder"
                f" ({targets}). Tuning Studio never runs code that comes with a model; pick a"
                " model that standard transformers classes can load.")


def _peft_base_record(file: str, key: str, value: object) -> bool:
    """PEFT writes ``auto_mapping`` into adapter_config.json to record the base model's class
    (``{"base_model_class": "LlamaForCausalLM", "parent_library":
    "transformers.models.llama.modeling_llama"}``): a class of the installed transformers, not
    code from the folder, so an adapter saved by plain ``get_peft_model`` is not refused."""
    if file != "adapter_config.json" or key != "auto_mapping" or not isinstance(value, dict):
        return False
    library, name = value.get("parent_library"), value.get("base_model_class")
    return (set(value) <= {"base_model_class", "parent_library"} and isinstance(name, str)
            and name.isidentifier() and isinstance(library, str)
            and library.startswith("transformers.models.")
            and all(part.isidentifier() for part in library.split(".")))


def _code_targets(value: object) -> set[str]:
    if isinstance(value, dict):
        return {t for v in value.values() for t in _code_targets(v)}
    if isinstance(value, list):
        return {t for v in value for t in _code_targets(v)}
    return {str(value)} if value else set()


def _check_weights(folder: Path, what: str) -> None:
    files = [p for p in folder.iterdir() if p.is_file()]
    if any(p.suffix == ".safetensors" for p in files):
        return
    pickles = sorted(p.name for p in files
                     if p.suffix in PICKLE_SUFFIXES and p.name not in NOT_WEIGHTS)
    if pickles:
        raise UnsafeModelError(
            f"{folder}: this {what} folder has only pickle weights ({', '.join(pickles)}), which"
            " can run code; convert them to safetensors (for example with the"
            " huggingface 'convert to safetensors' tool) and try again")
