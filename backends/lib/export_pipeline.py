"""The export steps in order, each announced as a ``progress`` event.

Kept apart from ``backends.export`` (the job folder, events, clean-up) so tests and the bench
can run the pipeline in-process. Cancelling is the one stop mechanism
(``backends.lib.jobs.StopFlag``): ``stop`` is checked before each step and about 5 times a
second while the converter runs.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backends.lib.export_gguf import convert_lora, convert_model, quantize, write_modelfile
from backends.lib.export_gguf_file import read_gguf
from backends.lib.export_merge import (
    ExportCancelledError,
    ExportError,
    adapter_base_dir,
    check_architecture,
    check_free_space,
    check_tokenizer_files,
    merge_adapter,
    tokenizer_source,
)
from backends.lib.export_register import register_outputs
from backends.lib.export_selfcheck import (
    DEFAULT_PROMPTS,
    check_data_tokenization,
    check_f16_against_hf,
    check_gguf,
    render_prompts,
)
from backends.lib.gguf_tokenizer import project_texts
from studio.events import EventWriter
from studio.registry.converter import prepare_converter
from studio.registry.export_config import ExportConfig
from studio.registry.safety import check_model_folder

DATA_TEXTS = 400  # of the person's prompts and responses, tokenized by both in the self-check
# Bytes of a quantized file per byte of F16, for the free-space estimate.
QUANT_RATIO = {"Q8_0": 0.54, "Q6_K": 0.42, "Q5_K_M": 0.37, "Q4_K_M": 0.32, "Q4_0": 0.29}


# Relative cost of each step, from the stage times of SmolLM2's export on 2 CPU cores
# (bench/results/2026-12-03-real-export-overhead-cpu.txt: load 30 s, convert 41 s, F16
# self-check 55 s, each quantization with its self-check 55-60 s): the ETA covers the whole
# export, not the step in progress, so a fast first step does not promise seconds.
STAGE_WEIGHTS = {"check": 0.5, "merge": 30.0, "load": 30.0, "convert": 41.0, "selfcheck": 55.0,
                 "quantize": 57.0, "lora": 30.0, "register": 2.0}


def whole_eta(plan: list[str], done: int, elapsed_s: float) -> float | None:
    """Seconds left of the whole export once ``done`` steps of ``plan`` took ``elapsed_s``;
    None before a step worth timing has finished."""
    spent = sum(STAGE_WEIGHTS.get(stage, 1.0) for stage in plan[:done])
    if spent < 1.0 or elapsed_s <= 0:
        return None
    return elapsed_s * sum(STAGE_WEIGHTS.get(stage, 1.0) for stage in plan[done:]) / spent


class Steps:
    """Counts steps, emits one progress event per step and times each one.

    ``seconds`` is the wall time of every step in order (a quantization per quant), so the
    ``finished`` event says where an export's time went (the bench compares it with the raw
    converter and quantizer).
    """

    def __init__(self, events: EventWriter, total: int | list[str],
                 stop: Callable[[], bool]) -> None:
        # ``total`` may be the planned stages in order: then events carry the whole ETA.
        self.plan = total if isinstance(total, list) else []
        self.total = len(total) if isinstance(total, list) else total
        self.events, self.done, self.stop = events, 0, stop
        self.seconds: list[dict[str, Any]] = []
        self._current: tuple[str, float] | None = None
        self._began = time.monotonic()

    def poll(self) -> None:
        """Raise when a stop was asked for (between steps, and while the converter runs)."""
        if self.stop():
            raise ExportCancelledError("the export was cancelled")

    def start(self, stage: str, message: str, label: str | None = None) -> None:
        self.poll()
        self.close()
        eta = whole_eta(self.plan, self.done, time.monotonic() - self._began) \
            if self.plan else None
        # None says "not known yet": the strip then shows no ETA rather than its own guess
        # from the pace of a 0.1 s check.
        extra = {"eta_s": round(eta, 1) if eta is not None else None} if self.plan else {}
        self.events.emit("progress", stage=stage, message=message, done=self.done,
                         total=self.total, fraction=round(self.done / self.total, 3), **extra)
        self.done += 1
        self._current = (label or stage, time.monotonic())

    def split(self, label: str) -> None:
        """Time the rest of the current step under its own label (no progress event)."""
        self.close()
        self._current = (label, time.monotonic())

    def close(self) -> None:
        """End the step being timed (the next ``start`` or the end of the export does)."""
        if self._current is not None:
            label, started = self._current
            self.seconds.append({"stage": label, "s": round(time.monotonic() - started, 2)})
            self._current = None


def _never() -> bool:
    return False


def run_export(config: ExportConfig, events: EventWriter,
               stop: Callable[[], bool] = _never) -> dict[str, Any]:
    out, quants = config.out_path, list(dict.fromkeys(q for q in config.quants if q != "F16"))
    plan = ["check", "merge" if config.adapter_path is not None else "load", "convert",
            "selfcheck", *["quantize"] * len(quants), *["lora"] * int(config.lora_gguf),
            *["register"] * int(config.db_path is not None)]
    steps = Steps(events, plan, stop)
    steps.start("check", "checking the model and the converter")
    source = config.model_path or config.base_path or adapter_base_dir(_need(config.adapter_path))
    check_model_folder(source)  # before transformers or the converter touch it
    if config.adapter_path is not None:
        check_model_folder(config.adapter_path, "adapter")
    converter = prepare_converter()
    check_architecture(source, converter)
    check_tokenizer_files(tokenizer_source(config.adapter_path, source))
    check_free_space(out, _needed_bytes(source, quants, config.adapter_path is not None))
    _threads(config.threads)

    merged = out / "merged"
    if config.adapter_path is not None:
        steps.start("merge", f"merging {config.adapter_path.name} into {source.name}")
        model = merge_adapter(source, config.adapter_path, merged)
        hf_dir = merged
    else:
        steps.start("load", f"loading {source.name} for the self-check")
        model, hf_dir = _load(source), source
    tokenizer = _tokenizer(hf_dir)

    steps.start("convert", "converting to GGUF (F16) with llama.cpp's converter")
    f16 = convert_model(hf_dir, out / "model-F16.gguf", out / "export.log", steps.poll)
    info = read_gguf(f16)
    meta = {"chat_template": info.chat_template, "eos": info.eos_text}
    texts = render_prompts(tokenizer, list(DEFAULT_PROMPTS))

    steps.start("selfcheck", "self-check: F16 GGUF against transformers", "selfcheck F16")
    f16_check, f16_refs = check_f16_against_hf(f16, model, tokenizer, texts,
                                               max(config.selfcheck_tokens, 1), meta,
                                               config.threads or None)
    del model
    f16_check = check_data_tokenization(f16_check, f16, tokenizer,
                                        project_texts(config.db_path, DATA_TEXTS))
    files = [_output(f16, "F16", f16_check.as_dict(), info)]

    for quant in quants:
        steps.start("quantize", f"quantizing to {quant} and checking it against F16",
                    f"quantize {quant}")
        path = quantize(f16, out / f"model-{quant}.gguf", quant, config.threads)
        steps.split(f"selfcheck {quant}")
        check, _ = check_gguf(path, texts, f16_refs, "F16", meta, config.threads or None)
        files.append(_output(path, quant, check.as_dict(), info))

    lora = None
    if config.lora_gguf:
        steps.start("lora", "writing the adapter-only GGUF")
        lora = _lora(config, source, texts, f16_refs, meta, steps.poll)
    if not config.keep_merged and merged.exists():
        shutil.rmtree(merged)
    (out / "selfcheck.json").write_text(
        json.dumps({f["quant"]: f["selfcheck"] for f in files}, indent=2), encoding="utf-8")
    result: dict[str, Any] = {
        "outputs": files, "lora": lora, "merged": str(merged) if merged.exists() else None,
        "selfcheck_passed": f16_check.passed,
        "selfcheck_summary": selfcheck_summary(files, lora),
    }
    if config.db_path is not None:
        steps.start("register", "registering the models")
        result["registered"] = register_outputs(config, source, result)
    steps.close()
    result["stage_s"] = steps.seconds
    return result


def selfcheck_summary(files: list[dict[str, Any]], lora: dict[str, Any] | None) -> str:
    """One line for the person: the F16 verdict, plus why any other file failed its check."""
    checked = [(f["quant"], f["selfcheck"]) for f in files]
    if lora and lora.get("selfcheck"):
        checked.append(("adapter-only GGUF", lora["selfcheck"]))
    first, *others = checked
    parts = [f"F16 {first[1]['summary']}"]
    parts += [f"{name} {check['summary']}" for name, check in others if not check["passed"]]
    return " · ".join(parts)


def _output(path: Path, quant: str, check: dict[str, Any], info: Any) -> dict[str, Any]:
    modelfile = write_modelfile(path, info.eos_text, info.chat_template)
    return {"path": str(path), "quant": quant, "size_bytes": path.stat().st_size,
            "selfcheck": check, "modelfile": str(modelfile)}


def _lora(config: ExportConfig, source: Path, texts: list[str],
          references: list[tuple[list[int], list[int]]], meta: dict[str, Any],
          poll: Callable[[], None]) -> dict[str, Any]:
    adapter = _need(config.adapter_path)
    path = convert_lora(source, adapter, config.out_path / "adapter-F16.gguf",
                        config.out_path / "export.log", poll)
    result: dict[str, Any] = {"path": str(path), "quant": "F16",
                              "size_bytes": path.stat().st_size, "selfcheck": None}
    if config.base_gguf_path is not None:
        check, _ = check_gguf(config.base_gguf_path, texts, references, "hf", meta,
                              config.threads or None, lora_path=path)
        result["selfcheck"] = check.as_dict()
    return result


def _need(adapter: Path | None) -> Path:
    if adapter is None:
        raise ExportError("give either an adapter folder or a model folder to export")
    return adapter


def _needed_bytes(source: Path, quants: list[str], merging: bool) -> int:
    weights = sum(f.stat().st_size for f in source.glob("*.safetensors"))
    weights += sum(f.stat().st_size for f in source.glob("*.bin"))
    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    dtype = config.get("dtype") or config.get("torch_dtype") or "float32"
    f16 = weights // 2 if dtype == "float32" else weights
    quantized = sum(int(f16 * QUANT_RATIO.get(q, 1.0)) for q in quants)
    return int((weights * merging + f16 + quantized) * 1.05)


def _threads(threads: int) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


def _load(model_dir: Path) -> Any:
    from transformers import AutoModelForCausalLM

    check_model_folder(model_dir)
    return AutoModelForCausalLM.from_pretrained(model_dir, dtype="auto", trust_remote_code=False,
                                                use_safetensors=True).eval()


def _tokenizer(model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    check_model_folder(model_dir)
    return AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)

