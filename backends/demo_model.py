"""Build a tiny random-init chat model that every stage accepts: transformers, TRL with PEFT
LoRA, and llama.cpp's GGUF converter and runtime.

    python -m backends.demo_model --job-dir DIR

``DIR/config.json`` is a ``studio.registry.demo.DemoModelConfig`` (out_dir, seed, vocab_size,
arch, shape); tests and benchmarks call :func:`build_demo_model` directly.

The tokenizer is a SentencePiece BPE trained offline on ``resources/demo_corpus.txt``. Its
settings are the ones llama.cpp tokenizes exactly like transformers: byte fallback, no dummy
prefix, identity normalization, and the ChatML tokens as control symbols (as user-defined
symbols they would become plain text tokens in GGUF). The same seed gives the same files.

``arch="qwen2"`` builds a Qwen2 model with the same tokenizer, for checking the Qwen2 code paths
(attention biases, LoRA targets, conversion). Two limits, both outside our control:
transformers 5 ``AutoTokenizer`` maps model type ``qwen2`` to its byte-level ``Qwen2Tokenizer``
whatever ``tokenizer_config.json`` says, so load it with ``LlamaTokenizer.from_pretrained``; and
llama.cpp's converter writes ``add_space_prefix`` only for Llama models, so llama.cpp tokenizes a
Qwen2 GGUF of it with a space prefix and its ids differ from transformers'.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from backends.lib.jobs import StopFlag, make_job_parser, run_job
from studio.events import EventWriter
from studio.jobs.config import load_config
from studio.registry.demo import DEFAULT_CORPUS, Arch, DemoModelConfig

__all__ = ["CHAT_TEMPLATE", "DEFAULT_CORPUS", "MARKER", "DemoModelConfig", "build_demo_model"]
MARKER = "demo_model.json"
IM_START, IM_END, PAD = "<|im_start|>", "<|im_end|>", "<pad>"
UNK_ID, BOS_ID, EOS_ID, PAD_ID = 0, 1, 2, 3

# ChatML. ``{% generation %}`` marks what the assistant says (its end tag included, so the model
# learns to stop): TRL's ``assistant_only_loss`` trains on exactly that part, and
# llama-cpp-python ignores the markers, so one template serves training and chat.
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' }}"
    "{%- if message['role'] == 'assistant' %}"
    "{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def build_demo_model(
    out_dir: Path, seed: int = 0, vocab_size: int = 1000, arch: Arch = "llama", **shape: Any
) -> Path:
    """Build the demo model into ``out_dir`` and return it. ``shape`` overrides other fields."""
    if "corpus" in shape:
        shape["corpus"] = str(shape["corpus"])
    config = DemoModelConfig(
        out_dir=str(out_dir), seed=seed, vocab_size=vocab_size, arch=arch, **shape
    )
    target = Path(config.out_dir)
    _check_replaceable(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built beside the target and renamed, so a half-written model never sits at ``out_dir``.
    with tempfile.TemporaryDirectory(prefix=f".{target.name}-", dir=target.parent) as tmp:
        staging = Path(tmp) / "model"
        staging.mkdir()
        tokenizer = _save_tokenizer(config, staging)
        params = _save_model(config, tokenizer, staging)
        marker = {
            **{k: v for k, v in asdict(config).items() if k not in ("out_dir", "corpus")},
            "vocab_size": len(tokenizer),
            "params": params,
        }
        (staging / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    return target


def _check_replaceable(target: Path) -> None:
    if target.exists() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise FileExistsError(f"{target} is not empty and holds no demo model; not replacing it")


def _train_sentencepiece(config: DemoModelConfig) -> bytes:
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        input=str(config.corpus),
        model_writer=model,
        model_type="bpe",
        vocab_size=config.vocab_size,
        byte_fallback=True,
        add_dummy_prefix=False,
        normalization_rule_name="identity",
        # Keep runs of spaces (code indentation): llama.cpp never collapses them.
        remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True,
        character_coverage=1.0,
        control_symbols=[IM_START, IM_END],
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        pad_id=PAD_ID,
        pad_piece=PAD,
        # One thread keeps training deterministic; it takes well under a second.
        num_threads=1,
        minloglevel=2,
    )
    return model.getvalue()


def _save_tokenizer(config: DemoModelConfig, out_dir: Path) -> Any:
    from transformers import LlamaTokenizer

    (out_dir / "tokenizer.model").write_bytes(_train_sentencepiece(config))
    # ``LlamaTokenizer(vocab_file=...)`` silently gives a 4-token vocab under transformers 5;
    # ``from_pretrained`` on the folder reads the whole model.
    tokenizer = LlamaTokenizer.from_pretrained(
        out_dir,
        add_prefix_space=False,
        add_bos_token=False,
        add_eos_token=False,
        eos_token=IM_END,
        pad_token=PAD,
        model_max_length=config.max_position_embeddings,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out_dir)
    _fix_tokenizer_config(out_dir)
    return tokenizer


def _fix_tokenizer_config(out_dir: Path) -> None:
    # transformers 5 drops these keys on save. Without them llama.cpp's converter records a BOS
    # and a space prefix the chat template never had, and token ids diverge from transformers.
    path = out_dir / "tokenizer_config.json"
    settings = json.loads(path.read_text(encoding="utf-8"))
    for machine_specific in ("is_local", "local_files_only"):
        settings.pop(machine_specific, None)
    settings.update(add_bos_token=False, add_eos_token=False, add_prefix_space=False)
    path.write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _save_model(config: DemoModelConfig, tokenizer: Any, out_dir: Path) -> int:
    import torch
    from transformers import (
        GenerationConfig,
        LlamaConfig,
        LlamaForCausalLM,
        Qwen2Config,
        Qwen2ForCausalLM,
    )

    config_class, model_class = {
        "llama": (LlamaConfig, LlamaForCausalLM),
        "qwen2": (Qwen2Config, Qwen2ForCausalLM),
    }[config.arch]
    model_config = config_class(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        num_key_value_heads=config.num_key_value_heads,
        max_position_embeddings=config.max_position_embeddings,
        tie_word_embeddings=False,
        bos_token_id=BOS_ID,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=PAD_ID,
    )
    torch.manual_seed(config.seed)
    model = model_class(model_config).to(torch.float32).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=BOS_ID, eos_token_id=tokenizer.eos_token_id, pad_token_id=PAD_ID
    )
    model.save_pretrained(out_dir)
    return sum(p.numel() for p in model.parameters())


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser("Build a tiny random-init chat model for tests and the demo.")


def main(args: argparse.Namespace) -> int:
    return run_job(args, "demo_model", build_job)


def build_job(job_dir: Path, events: EventWriter, flag: StopFlag) -> None:
    """Build the model the job's config describes; ``finished`` carries its folder."""
    from transformers.utils import logging as hf_logging

    # The log holds tracebacks only; the shard-writing progress bar would clutter it.
    hf_logging.disable_progress_bar()
    started = time.monotonic()
    config = load_config(DemoModelConfig, job_dir)
    events.emit("progress", stage="build", message="building the tiny demo model",
                done=0, total=1)
    shape = {k: v for k, v in asdict(config).items() if k not in ("out_dir", "seed",
                                                                     "vocab_size", "arch")}
    if flag.stop:  # a build takes seconds: stopping is only possible before it
        events.emit("cancelled", message="the demo model build was cancelled")
        return
    out_dir = build_demo_model(Path(config.out_dir), seed=config.seed,
                               vocab_size=config.vocab_size, arch=config.arch, **shape)
    marker = json.loads((out_dir / MARKER).read_text(encoding="utf-8"))
    events.emit("finished", path=str(out_dir), params=marker["params"],
                wall_s=round(time.monotonic() - started, 2))


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
