"""Candidate generation jobs: N answers per prompt from a registered model, to label.

A job is a folder under ``jobs/`` holding ``config.json`` (a :class:`GenerationConfig`) and
the ``events.jsonl`` that ``backends.generate`` appends. Each candidate is stored as a
response the moment it is finished, tagged with the model and its sampling settings, so a
cancelled job keeps what it finished and a re-run only generates what is missing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.db.store import Store
from studio.errors import StudioError
from studio.jobs.config import load_config, save_config
from studio.jobs.launch import write_job

MAX_CANDIDATES = 8


class GenerationConfigError(StudioError):
    """A generation job that cannot run as configured."""


@dataclass
class GenerationConfig:
    """What to generate. Field help doubles as the UI's tooltips."""

    model_path: str = field(metadata={"help": "GGUF file of the model that writes candidates."})
    model_name: str = field(metadata={"help": "Name stored with every candidate (lineage)."})
    prompt_ids: list[int] = field(default_factory=list,
                                  metadata={"help": "Prompts to write candidates for."})
    lora_path: str | None = field(default=None, metadata={
        "help": "Optional LoRA adapter GGUF applied on top of the model."})
    n: int = field(default=4, metadata={"help": "Candidates per prompt (1-8)."})
    temperature_min: float = field(default=0.7, metadata={
        "help": "Temperature of the first candidate; later ones rise linearly to the maximum,"
        " so the set spans safe and adventurous answers."})
    temperature_max: float = field(default=1.0, metadata={
        "help": "Temperature of the last candidate."})
    top_p: float = field(default=0.95, metadata={"help": "Nucleus sampling probability mass."})
    max_tokens: int = field(default=256, metadata={"help": "Longest candidate, in tokens."})
    seed: int = field(default=0, metadata={
        "help": "Base seed; candidate i uses seed + i, so a re-run reproduces the same set."})
    n_ctx: int = field(default=2048, metadata={"help": "Context window for prompt + answer."})
    threads: int = field(default=0, metadata={"help": "CPU threads (0: all cores)."})
    gpu_layers: int = field(default=-1, metadata={
        "help": "Layers to offload to the GPU when llama.cpp was built with CUDA or Metal"
        " (-1: all of them; 0: decode on the CPU)."})
    db: str = field(default="", metadata={
        "help": "The studio database the candidates are stored in (an absolute path)."})

    def validate(self) -> None:
        if not 1 <= self.n <= MAX_CANDIDATES:
            raise GenerationConfigError(f"candidates per prompt must be 1-{MAX_CANDIDATES},"
                                        f" not {self.n}")
        if not self.prompt_ids:
            raise GenerationConfigError("pick at least one prompt to generate candidates for")
        if self.temperature_min < 0 or self.temperature_max < self.temperature_min:
            raise GenerationConfigError("temperatures must satisfy 0 <= minimum <= maximum")
        if not Path(self.model_path).is_file():
            raise GenerationConfigError(f"model file not found: {self.model_path}")
        if self.lora_path and not Path(self.lora_path).is_file():
            raise GenerationConfigError(f"adapter file not found: {self.lora_path}")

    def sampling(self, index: int) -> dict[str, Any]:
        """The settings of candidate ``index``, as stored with it."""
        step = 0.0 if self.n == 1 else index / (self.n - 1)
        temperature = self.temperature_min + step * (self.temperature_max - self.temperature_min)
        return {"temperature": round(temperature, 4), "top_p": self.top_p,
                "max_tokens": self.max_tokens, "seed": self.seed + index}

    def signature(self, index: int) -> str:
        """Identifies one candidate slot: same model, adapter, settings and index."""
        key = json.dumps([self.model_name, self.model_path, self.lora_path,
                          self.sampling(index), index], sort_keys=True)
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def save(self, folder: Path) -> Path:
        return save_config(self, folder)

    @classmethod
    def load(cls, folder: Path) -> GenerationConfig:
        return load_config(cls, folder)


def create_job(jobs_dir: Path, config: GenerationConfig, db: Path | None = None) -> Path:
    """A new job folder with the config written, ready for ``backends.generate``; ``db`` (made
    absolute) is the database the candidates go to, unless the config names one already."""
    config.validate()
    if db is not None:
        config.db = str(Path(db).resolve())
    if not config.db:
        raise GenerationConfigError("a generation job needs the studio database (db)")
    return write_job(config, jobs_dir, "gen")


def pending_candidates(store: Store, config: GenerationConfig) -> list[tuple[int, int]]:
    """(prompt id, candidate index) pairs that have no stored candidate yet."""
    done: set[tuple[int, str]] = set()
    ids = sorted(set(config.prompt_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = store.db.execute(
            "SELECT prompt_id, json_extract(gen_params, '$.signature') FROM responses"
            f" WHERE model = ? AND prompt_id IN ({','.join('?' * len(chunk))})",
            [config.model_name, *chunk],
        )
        done.update((prompt_id, signature) for prompt_id, signature in rows)
    return [(prompt_id, index) for prompt_id in ids for index in range(config.n)
            if (prompt_id, config.signature(index)) not in done]


def store_candidate(store: Store, config: GenerationConfig, prompt_id: int, index: int,
                    text: str) -> int:
    """Store one finished candidate (committed at once) and return its response id."""
    params = {**config.sampling(index), "candidate": index, "signature": config.signature(index),
              "lora": config.lora_path}
    return store.add_response(prompt_id, text, origin="model", model=config.model_name,
                              gen_params=params, source="generate")
