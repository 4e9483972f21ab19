"""The export job's config: what to export and how, saved as the job folder's ``config.json``.

``backends.export`` reads it through ``--job-dir`` alone; the CLI and the Models page build it
with :func:`export_config` (paths made absolute before launch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import StudioError
from studio.jobs.config import load_config, save_config
from studio.jobs.launch import new_job_dir

QUANT_TYPES = ("F16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q4_0")


class ExportJobError(StudioError):
    """An export job that cannot be written as asked (its folder is in use)."""


@dataclass
class ExportConfig:
    """What to export and how. Field help doubles as the UI's tooltips."""

    out_dir: str = field(metadata={
        "help": "Job folder to write into (holds config.json; otherwise empty)."})
    adapter: str | None = field(default=None, metadata={
        "help": "PEFT LoRA adapter folder to merge into its base model."})
    model: str | None = field(default=None, metadata={
        "help": "A full Hugging Face model folder to convert as is (instead of an adapter)."})
    base: str | None = field(default=None, metadata={
        "help": "Base model folder of the adapter (default: the one its config names)."})
    quants: list[str] = field(default_factory=lambda: ["Q4_K_M"], metadata={
        "help": "Quantizations to produce besides F16: " + ", ".join(QUANT_TYPES[1:]) + "."})
    lora_gguf: bool = field(default=False, metadata={
        "help": "Also write an adapter-only GGUF, to chat with base + adapter unmerged."})
    base_gguf: str | None = field(default=None, metadata={
        "help": "The base model's GGUF, to self-check the adapter-only GGUF against."})
    keep_merged: bool = field(default=True, metadata={
        "help": "Keep the merged safetensors folder (it is registered as a model)."})
    selfcheck_tokens: int = field(default=24, metadata={
        "help": "Greedy tokens compared per self-check prompt (0 skips the self-check)."})
    threads: int = field(default=0, metadata={
        "help": "CPU threads for merging, quantizing and the self-check (0: all)."})
    db: str | None = field(default=None, metadata={
        "help": "Studio database to register the results in (leave out to only write files)."})
    parent_id: str | None = field(default=None, metadata={
        "help": "Registry id of the adapter or model being exported, if registered."})
    name: str | None = field(default=None, metadata={
        "help": "Display name of the exported model in the registry."})

    @property
    def out_path(self) -> Path:
        return Path(self.out_dir)

    @property
    def adapter_path(self) -> Path | None:
        return Path(self.adapter) if self.adapter else None

    @property
    def model_path(self) -> Path | None:
        return Path(self.model) if self.model else None

    @property
    def base_path(self) -> Path | None:
        return Path(self.base) if self.base else None

    @property
    def base_gguf_path(self) -> Path | None:
        return Path(self.base_gguf) if self.base_gguf else None

    @property
    def db_path(self) -> Path | None:
        return Path(self.db) if self.db else None

    @classmethod
    def load(cls, folder: Path) -> ExportConfig:
        return load_config(cls, folder)


def _absolute(path: Path | str | None) -> str | None:
    return str(Path(path).expanduser().resolve()) if path else None


def export_config(out_dir: Path, *, adapter: Path | None = None, model: Path | None = None,
                  quants: list[str] | None = None, db: Path | None = None,
                  base: Path | None = None, base_gguf: Path | None = None,
                  lora_gguf: bool = False, parent_id: str | None = None,
                  name: str | None = None, selfcheck_tokens: int = 24, keep_merged: bool = True,
                  threads: int = 0) -> ExportConfig:
    """An export config with every path absolute (the job runs from another folder)."""
    return ExportConfig(out_dir=str(Path(out_dir).resolve()), adapter=_absolute(adapter),
                        model=_absolute(model), quants=list(quants or ["Q4_K_M"]),
                        db=_absolute(db), base=_absolute(base), base_gguf=_absolute(base_gguf),
                        lora_gguf=lora_gguf, parent_id=parent_id, name=name,
                        selfcheck_tokens=selfcheck_tokens, keep_merged=keep_merged,
                        threads=threads)


def create_export_job(exports_dir: Path, out: Path | None = None, **options: Any) -> Path:
    """Write an export job: ``out`` (created; it must not hold files) or a new folder under
    ``exports_dir``; ``options`` are :func:`export_config`'s keywords."""
    if out is None:
        folder = new_job_dir(exports_dir, "export")
    else:
        folder = Path(out).expanduser().resolve()
        if folder.exists() and any(folder.iterdir()):
            raise ExportJobError(f"{folder} is not empty; choose a new folder for the export")
        folder.mkdir(parents=True, exist_ok=True)
    save_config(export_config(folder, **options), folder)
    return folder
