"""Pre-flight checks of a training run, before any process is launched.

Each check gives a :class:`Check` with a level (error blocks the launch; warning is shown) and
a message that says what to fix. The checks read only small files and need no ML libraries:
the model's ``config.json`` and ``tokenizer.json``, and the snapshot's JSON lines.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from studio.registry.locate import resolve_model_dir
from studio.system.hardware import Hardware, detect
from studio.system.install_plan import CUDA_EXTRAS
from studio.training.checks import Check, PreflightError
from studio.training.config import DATA_KIND, TrainConfig
from studio.training.memory import (
    MemoryEstimate,
    estimate_memory,
    fitting_change,
    free_memory,
)

# The installers and ``make run`` add the CUDA extras on a machine with an NVIDIA GPU.
CUDA_EXTRAS_HINT = (f"pip install {' '.join(CUDA_EXTRAS)}, or re-run the installer on this"
                    " machine")
# Below these a run is not worth launching; above them see datasets.RECOMMENDED.
MIN_TRAIN = {"sft": 4, "dpo": 4, "kto": 4, "grpo": 2}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
# ChatML-style wrappers add a few tokens per message around its text.
TOKENS_PER_MESSAGE = 5


def check_model(model: str) -> tuple[list[Check], dict[str, Any] | None, Path | None]:
    """Checks of the base model, its parsed config.json and its folder (when usable)."""
    folder = resolve_model_dir(model)
    if folder is None:
        return [Check("error", "model", f"model '{model}' is neither a local folder nor in the"
                      " Hugging Face cache; download it first or pick a folder")], None, None
    if not folder.is_dir():
        return [Check("error", "model", f"model folder {folder} does not exist")], None, None
    config_path = folder / "config.json"
    if not config_path.exists():
        return [Check("error", "model", f"{folder} has no config.json: not a Hugging Face"
                      " model folder")], None, None
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        return [Check("error", "model", f"{config_path}, line {error.lineno}: not JSON")], \
            None, None
    architectures = config.get("architectures") or []
    if not any(str(name).endswith("ForCausalLM") for name in architectures):
        return [Check("error", "model", f"{folder.name} is a {architectures or 'model'} without"
                      " a causal-LM head; pick a text-generation model")], None, None
    if not any((folder / name).exists() for name in WEIGHT_FILES):
        return [Check("error", "model", f"{folder} has no weights (model.safetensors or"
                      " pytorch_model.bin)")], None, None
    return [], config, folder


def check_device(device: str, hardware: Hardware) -> list[Check]:
    """The chosen device against this machine: "mps" on Linux used to fail 12 s into a run."""
    if device in ("auto", "cpu") or device == hardware.accelerator:
        return []
    if device == "mps":
        return [Check("error", "device", f"device 'mps' needs an Apple Silicon Mac; this is"
                      f" {hardware.describe()}. Pick auto or {hardware.accelerator}.")]
    why = hardware.nvidia_problem or "nvidia-smi finds no NVIDIA GPU"
    return [Check("error", "device", f"device '{device}' needs an NVIDIA GPU, and {why} on"
                  f" this machine ({hardware.describe()}). Pick auto or"
                  f" {hardware.accelerator}.")]


def check_qlora(hardware: Hardware, has_package: Any = None) -> list[Check]:
    """QLoRA loads the base in 4 bits through bitsandbytes on a CUDA GPU: without either, the
    run used to fail after the imports and the model load, with a bare ImportError."""
    found = has_package or (lambda name: importlib.util.find_spec(name) is not None)
    checks = []
    if hardware.accelerator != "cuda":
        checks.append(Check("error", "adapter", f"adapter qlora needs an NVIDIA GPU (CUDA);"
                            f" this is {hardware.describe()}. Use adapter lora."))
    if not found("bitsandbytes"):
        checks.append(Check("error", "adapter", "adapter qlora needs the bitsandbytes package,"
                            f" which is not installed for {sys.executable}. Install the CUDA"
                            f" extras ({CUDA_EXTRAS_HINT}), or use adapter lora."))
    return checks


def read_split(path: Path) -> tuple[list[dict[str, Any]], list[Check]]:
    rows: list[dict[str, Any]] = []
    checks: list[Check] = []
    if not path.exists():
        return rows, [Check("error", "dataset", f"{path} is missing")]
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                checks.append(Check("error", "dataset", f"{path.name}, line {number}: not JSON"
                                    f" ({error.msg})"))
                break
    return rows, checks


def check_dataset(method: str, snapshot: Path) -> tuple[list[Check], list[dict[str, Any]]]:
    """Checks of the snapshot for the method; returns them and the training rows."""
    if not (snapshot / "manifest.json").exists():
        return [Check("error", "dataset", f"{snapshot} is not a dataset snapshot (no"
                      " manifest.json)")], []
    kind = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8")).get("kind")
    wanted = DATA_KIND.get(method, method)
    if kind != wanted:
        trains = "" if wanted == method else f" (it trains on {wanted.upper()} data)"
        return [Check("error", "dataset", f"the snapshot holds {str(kind).upper()} data but the"
                      f" method is {method.upper()}{trains}; export a {wanted.upper()}"
                      " snapshot")], []
    train, checks = read_split(snapshot / "train.jsonl")
    evaluation, eval_checks = read_split(snapshot / "eval.jsonl")
    checks += eval_checks
    if not train:
        return [*checks, Check("error", "dataset", f"there are no {method.upper()} training"
                               " examples; label more first")], train
    if len(train) < MIN_TRAIN[wanted]:
        checks.append(Check("error", "dataset", f"only {len(train)} training examples; "
                            f"{method.upper()} needs at least {MIN_TRAIN[wanted]}"))
    if not evaluation and wanted != "grpo":  # GRPO is measured on an eval set afterwards
        checks.append(Check("warning", "dataset", "no held-out examples: the run will report"
                            " no eval loss or reward accuracy"))
    checks += _method_checks(wanted, train)
    return checks, train


def _method_checks(method: str, train: list[dict[str, Any]]) -> list[Check]:
    if method == "kto":
        up = sum(1 for row in train if row.get("label"))
        if up == 0 or up == len(train):
            missing = "thumbs-down" if up else "thumbs-up"
            return [Check("error", "dataset", f"KTO needs both thumbs up and down; the"
                          f" training split has no {missing} examples")]
    if method == "dpo":
        same = [number for number, row in enumerate(train, start=1)
                if row.get("chosen") == row.get("rejected")]
        if same:
            lines = ", ".join(map(str, same[:5])) + (" ..." if len(same) > 5 else "")
            return [Check("error", "dataset", f"train.jsonl line(s) {lines}: chosen and"
                          " rejected are identical, so the pair teaches nothing")]
    return []


def _text(messages: Any) -> list[str]:
    if isinstance(messages, str):
        return [messages]
    return [str(m.get("content", "")) for m in messages or [] if isinstance(m, dict)]


def example_lengths(method: str, rows: list[dict[str, Any]], count: Any) -> list[int]:
    """Token length of each example as trained (prompt + its longest completion)."""
    def size(parts: list[str]) -> int:
        return sum(count(text) + TOKENS_PER_MESSAGE for text in parts)

    if method == "sft":
        return [size(_text(row.get("messages"))) for row in rows]
    if method == "dpo":
        return [size(_text(row.get("prompt"))) + max(size(_text(row.get("chosen"))),
                                                       size(_text(row.get("rejected"))))
                for row in rows]
    return [size(_text(row.get("prompt"))) + size(_text(row.get("completion"))) for row in rows]


def token_counter(model_dir: Path | None) -> tuple[Any, bool]:
    """A text -> token count function, and whether it is exact (the model's own tokenizer)."""
    tokenizer_file = model_dir / "tokenizer.json" if model_dir else None
    if tokenizer_file is not None and tokenizer_file.exists():
        import tokenizers  # the Rust tokenizer alone: light, and exact for our counts

        tokenizer = tokenizers.Tokenizer.from_file(str(tokenizer_file))
        return (lambda text: len(tokenizer.encode(text, add_special_tokens=False).ids)), True
    return (lambda text: max(1, round(len(text) / 3.5))), False


def prompt_lengths(kind: str, rows: list[dict[str, Any]], count: Any) -> list[int]:
    """Token length of each SFT example's prompt: every message before the answer."""
    if kind != "sft":
        return []
    return [sum(count(text) + TOKENS_PER_MESSAGE for text in _text(row.get("messages", [])[:-1]))
            for row in rows]


def check_lengths(config: TrainConfig, rows: list[dict[str, Any]],
                  model_dir: Path | None) -> list[Check]:
    """Examples longer than max_length, and which of them TRL will drop: it cuts an SFT
    example's end and then drops those left with no answer token (the prompt alone fills
    max_length), so "22 truncated" before the run became "11 dropped" in it. DPO prompts are
    shortened from the left instead (``backends.lib.train_prompts``): no pair is dropped."""
    count, exact = token_counter(model_dir)
    kind = DATA_KIND.get(config.method, config.method)
    lengths = example_lengths(kind, rows, count)
    over = sum(1 for n in lengths if n > config.max_length)
    if not over:
        return []
    dropped = sum(1 for n in prompt_lengths(kind, rows, count) if n >= config.max_length)
    how = "" if exact else " (estimated without the tokenizer)"
    fate = (f"{dropped} will be dropped (the prompt alone fills max_length: no answer token is"
            f" left to learn from) and {over - dropped} trained with their end cut"
            if dropped else "they will be trained with their end cut")
    return [Check("warning", "length", f"{over} of {len(rows)} training examples are longer"
                  f" than max_length {config.max_length} tokens{how}: {fate}; the longest has"
                  f" {max(lengths)}")]


def preflight(config: TrainConfig, snapshot_dir: Path | str | None = None,
              free_bytes: tuple[str, int] | None = None, memory: bool = True,
              hardware: Hardware | None = None) -> list[Check]:
    """Every check of a run; ``free_bytes`` (device, bytes) overrides the memory probe,
    ``memory=False`` skips the memory estimate, and ``hardware`` the machine's detection."""
    checks = [Check("error", "config", f"{name}: {message}")
              for name, message in config.problems()]
    if checks and any(name in {"method", "adapter"} for name, _ in config.problems()):
        return checks
    if config.device not in ("auto", "cpu"):
        hardware = hardware or detect()
        checks += check_device(config.device, hardware)
    if config.adapter == "qlora":
        checks += check_qlora(hardware or detect())
    model_checks, model_config, model_dir = check_model(config.model)
    checks += model_checks
    snapshot = Path(snapshot_dir or config.snapshot_dir)
    data_checks, rows = check_dataset(config.method, snapshot)
    checks += data_checks
    prompt_tokens = None
    if rows and config.method == "grpo":  # GRPO cuts nothing at max_length: it samples
        prompt_tokens = longest_prompt(rows, model_dir)
    elif rows:
        checks += check_lengths(config, rows, model_dir)
    if model_config is not None and memory:
        device, free = free_bytes or free_memory(config.device)
        estimate = estimate_memory(config, model_config, device, prompt_tokens)
        fix = fitting_change(config, model_config, device, free, prompt_tokens) \
            if estimate.total > free else None
        checks.append(estimate.check(free, device, fix))
    return checks


def longest_prompt(rows: list[dict[str, Any]], model_dir: Path | None) -> int:
    """Tokens of the longest GRPO prompt: TRL pads a batch's prompts to it, uncut."""
    return max(example_lengths("grpo", rows, token_counter(model_dir)[0]))


def run_estimate(config: TrainConfig, snapshot_dir: Path, device: str) -> MemoryEstimate:
    """The estimate pre-flight makes of ``config`` on this snapshot (benchmarks compare it with
    measured peaks)."""
    folder = resolve_model_dir(config.model)
    if folder is None:
        raise PreflightError([Check("error", "model", f"model '{config.model}' not found")])
    model_config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    prompt_tokens = None
    if config.method == "grpo":
        rows, _ = read_split(Path(snapshot_dir) / "train.jsonl")
        prompt_tokens = longest_prompt(rows, folder) if rows else None
    return estimate_memory(config, model_config, device, prompt_tokens)


def require_ok(checks: list[Check]) -> None:
    if any(check.level == "error" for check in checks):
        raise PreflightError(checks)
