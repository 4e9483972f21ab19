"""Export a tuned model for llama.cpp: merge → GGUF F16 → self-check → quantize → Modelfile.

    python -m backends.export OUT_DIR --adapter RUN/adapter --quant Q8_0 --quant Q4_K_M
    python -m backends.export OUT_DIR --model BASE_DIR --quant Q4_K_M      # a base model as is

``OUT_DIR`` is the job folder: ``events.jsonl`` (also echoed on stdout), ``export.log``,
``merged/``, ``model-<QUANT>.gguf`` with a ``.Modelfile`` each, ``adapter-F16.gguf`` and
``selfcheck.json``. With ``--db`` the results are registered in the model registry in one
transaction at the very end, so a cancelled (SIGTERM) or failed export registers nothing; its
unfinished files are removed.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import FrameType
from typing import Any

from backends.export_gguf import QUANT_TYPES
from backends.export_merge import ExportCancelledError, ExportError
from studio.errors import StudioError
from studio.events import EventWriter

log = logging.getLogger("backends.export")


@dataclass
class ExportConfig:
    """What to export and how. Field help doubles as the UI's tooltips."""

    out_dir: Path = field(metadata={"help": "Job folder to write into (created; must be empty)."})
    adapter: Path | None = field(default=None, metadata={
        "help": "PEFT LoRA adapter folder to merge into its base model."})
    model: Path | None = field(default=None, metadata={
        "help": "A full Hugging Face model folder to convert as is (instead of --adapter)."})
    base: Path | None = field(default=None, metadata={
        "help": "Base model folder of the adapter (default: the one its config names)."})
    quants: list[str] = field(default_factory=lambda: ["Q4_K_M"], metadata={
        "help": "Quantizations to produce besides F16: " + ", ".join(QUANT_TYPES[1:]) + "."})
    lora_gguf: bool = field(default=False, metadata={
        "help": "Also write an adapter-only GGUF, to chat with base + adapter unmerged."})
    base_gguf: Path | None = field(default=None, metadata={
        "help": "The base model's GGUF, to self-check the adapter-only GGUF against."})
    keep_merged: bool = field(default=True, metadata={
        "help": "Keep the merged safetensors folder (it is registered as a model)."})
    selfcheck_tokens: int = field(default=24, metadata={
        "help": "Greedy tokens compared per self-check prompt (0 skips the self-check)."})
    threads: int = field(default=0, metadata={
        "help": "CPU threads for merging, quantizing and the self-check (0: all)."})
    db: Path | None = field(default=None, metadata={
        "help": "Studio database to register the results in (leave out to only write files)."})
    parent_id: str | None = field(default=None, metadata={
        "help": "Registry id of the adapter or model being exported, if registered."})
    name: str | None = field(default=None, metadata={
        "help": "Display name of the exported model in the registry."})


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backends.export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    helps = {f.name: f.metadata["help"] for f in fields(ExportConfig)}
    parser.add_argument("out_dir", type=Path, help=helps["out_dir"])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--adapter", type=Path, help=helps["adapter"])
    source.add_argument("--model", type=Path, help=helps["model"])
    for name in ("base", "base_gguf", "db"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=Path, help=helps[name])
    parser.add_argument("--quant", dest="quants", action="append", choices=QUANT_TYPES,
                        help=helps["quants"] + " Repeat for several (default: Q4_K_M;"
                        " F16 alone: no quantization).")
    parser.add_argument("--lora-gguf", action="store_true", help=helps["lora_gguf"])
    parser.add_argument("--no-merged", dest="keep_merged", action="store_false",
                        help="Delete the merged safetensors folder after converting.")
    parser.add_argument("--selfcheck-tokens", type=int, default=24,
                        help=helps["selfcheck_tokens"])
    parser.add_argument("--threads", type=int, default=0, help=helps["threads"])
    parser.add_argument("--parent-id", help=helps["parent_id"])
    parser.add_argument("--name", help=helps["name"])
    return parser


def config_from_args(args: argparse.Namespace) -> ExportConfig:
    values = {f.name: getattr(args, f.name) for f in fields(ExportConfig) if hasattr(args, f.name)}
    values["quants"] = values.get("quants") or ["Q4_K_M"]
    return ExportConfig(**values)


def _cancel(signum: int, frame: FrameType | None) -> None:
    raise ExportCancelledError("the export was cancelled")


def main(args: argparse.Namespace) -> int:
    from backends.export_pipeline import run_export

    config = config_from_args(args)
    out = config.out_dir
    if out.exists() and any(p.name != "events.jsonl" for p in out.iterdir()):
        sys.stderr.write(f"error: {out} is not empty; choose a new job folder\n")
        return 2
    out.mkdir(parents=True, exist_ok=True)
    events = EventWriter.stdout(out / "events.jsonl")
    logging.basicConfig(filename=out / "export.log", level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, _cancel)
    signal.signal(signal.SIGINT, _cancel)
    started = time.monotonic()
    try:
        result = run_export(config, events)
    except ExportCancelledError:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second cancel must not stop clean-up
        EventWriter.stdout().emit("cancelled", message="the export was cancelled; nothing was"
                                  " registered")
        _discard(out, keep_logs=False)
        return 130
    except (ExportError, StudioError, OSError, RuntimeError, ValueError) as error:
        return _failed(out, events, str(error) or type(error).__name__)
    except Exception as error:  # noqa: BLE001 - the process boundary: any failure is an event
        return _failed(out, events, f"{type(error).__name__}: {error}"[:400])
    events.emit("finished", wall_s=round(time.monotonic() - started, 2), **result)
    return 0


def _failed(out: Path, events: EventWriter, message: str) -> int:
    log.error("export failed\n%s", traceback.format_exc())
    _discard(out, keep_logs=True)
    events.emit("failed", message=message, log=str(out / "export.log"))
    return 1


def _discard(out: Path, keep_logs: bool) -> None:
    """Remove what an unfinished export wrote (all of it on cancel; logs stay on failure)."""
    keep = {"events.jsonl", "export.log"} if keep_logs else set()
    for path in out.iterdir():
        if path.name in keep:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    if not keep_logs:
        shutil.rmtree(out, ignore_errors=True)


def describe(config: ExportConfig) -> dict[str, Any]:
    """The config as JSON-ready data (for the log and the finished event)."""
    return json.loads(json.dumps(asdict(config), default=str))


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
