"""The demo model job: the shape of the tiny offline chat model, saved as the job's config.

``backends.demo_model`` builds it (``python -m backends.demo_model --job-dir DIR``); the first
start dialog and ``tuning-studio demo-model`` write the job with :func:`create_demo_job`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from studio.jobs.launch import write_job

Arch = Literal["llama", "qwen2"]

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "resources" / "demo_corpus.txt"


@dataclass
class DemoModelConfig:
    """The shape of the demo model. The defaults give about 1.6M parameters."""

    out_dir: str = field(metadata={"help": "Folder to write the model into (empty or absent)."})
    seed: int = field(default=0, metadata={"help": "Seed for the weights' random init."})
    vocab_size: int = field(
        default=1000, metadata={"help": "SentencePiece vocabulary size, special tokens included."}
    )
    arch: Arch = field(default="llama", metadata={"help": "Architecture: llama or qwen2."})
    corpus: str = field(
        default=str(DEFAULT_CORPUS), metadata={"help": "Text the tokenizer is trained on."}
    )
    # Multiples of 256 let llama.cpp's K-quants quantize every tensor.
    hidden_size: int = field(default=256, metadata={"help": "Width of the residual stream."})
    intermediate_size: int = field(default=512, metadata={"help": "Width of the MLP."})
    num_hidden_layers: int = field(default=2, metadata={"help": "Number of decoder layers."})
    num_attention_heads: int = field(default=4, metadata={"help": "Attention heads."})
    num_key_value_heads: int = field(default=2, metadata={"help": "Key/value heads (GQA)."})
    max_position_embeddings: int = field(default=1024, metadata={"help": "Longest context."})


def create_demo_job(jobs_dir: Path, out_dir: Path, seed: int = 0) -> Path:
    """A job folder for ``backends.demo_model`` building into ``out_dir`` (made absolute)."""
    config = DemoModelConfig(out_dir=str(Path(out_dir).expanduser().resolve()), seed=seed)
    return write_job(config, jobs_dir, "demo")
