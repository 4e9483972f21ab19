"""The tiny demo model: what transformers and TRL need from it, built for real."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from backends.demo_model import (
    CHAT_TEMPLATE,
    MARKER,
    DemoModelConfig,
    build_demo_model,
    main,
    make_parser,
)
from studio.events import read_events
from studio.jobs.launch import write_job

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Héllo 你好 🙂\n    x = 1"},
    {"role": "assistant", "content": "Sure: 3.14"},
    {"role": "user", "content": "Again?"},
    {"role": "assistant", "content": "Yes — «ok»."},
]
CHATML = (
    "<|im_start|>system\nYou are terse.<|im_end|>\n"
    "<|im_start|>user\nHéllo 你好 🙂\n    x = 1<|im_end|>\n"
    "<|im_start|>assistant\nSure: 3.14<|im_end|>\n"
    "<|im_start|>user\nAgain?<|im_end|>\n"
    "<|im_start|>assistant\nYes — «ok».<|im_end|>\n"
)


@pytest.fixture(scope="session")
def demo_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_model(tmp_path_factory.mktemp("demo-model"))


@pytest.fixture(scope="module")
def tokenizer(demo_model_dir: Path) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(demo_model_dir)


def test_writes_what_llama_cpp_and_transformers_read(demo_model_dir: Path) -> None:
    names = {p.name for p in demo_model_dir.iterdir()}
    assert {"tokenizer.model", "tokenizer_config.json", "chat_template.jinja"} <= names
    assert {"config.json", "generation_config.json", "model.safetensors", MARKER} <= names
    settings = json.loads((demo_model_dir / "tokenizer_config.json").read_text())
    assert settings["add_bos_token"] is False
    assert settings["add_eos_token"] is False
    assert settings["add_prefix_space"] is False
    assert settings["eos_token"] == "<|im_end|>"
    assert (demo_model_dir / "chat_template.jinja").read_text() == CHAT_TEMPLATE


def test_marker_describes_the_model(demo_model_dir: Path) -> None:
    marker = json.loads((demo_model_dir / MARKER).read_text())
    assert marker["arch"] == "llama"
    assert marker["seed"] == 0
    assert marker["vocab_size"] == 1000
    assert 1_500_000 < marker["params"] < 1_800_000


def test_same_seed_gives_same_files(demo_model_dir: Path, tmp_path: Path) -> None:
    again = build_demo_model(tmp_path / "again", seed=0)
    for name in ("model.safetensors", "tokenizer.model", "tokenizer.json", "config.json", MARKER):
        assert (again / name).read_bytes() == (demo_model_dir / name).read_bytes(), name
    other = build_demo_model(tmp_path / "other", seed=1)
    assert (other / "model.safetensors").read_bytes() != (again / "model.safetensors").read_bytes()


def test_rebuilds_over_a_demo_model_but_not_over_other_files(tmp_path: Path) -> None:
    target = build_demo_model(tmp_path / "model", seed=3)
    assert build_demo_model(target, seed=3) == target
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        build_demo_model(stranger)
    assert (stranger / "notes.txt").read_text() == "mine"


def test_tokenizer_adds_nothing_and_knows_chat_tokens(tokenizer: PreTrainedTokenizerBase) -> None:
    assert len(tokenizer) == 1000
    assert tokenizer("hello")["input_ids"] == tokenizer.encode("hello", add_special_tokens=False)
    assert tokenizer.encode("<|im_start|>", add_special_tokens=False) == [
        tokenizer.convert_tokens_to_ids("<|im_start|>")
    ]
    assert len(tokenizer.encode("<|im_end|>", add_special_tokens=False)) == 1
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<pad>"
    assert tokenizer.pad_token_id != tokenizer.eos_token_id


def test_chat_template_is_chatml_and_round_trips(tokenizer: PreTrainedTokenizerBase) -> None:
    text = tokenizer.apply_chat_template(MESSAGES, tokenize=False)
    assert text == CHATML
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text
    prompt = tokenizer.apply_chat_template(MESSAGES[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_end|>\n<|im_start|>assistant\n")


def test_assistant_mask_covers_exactly_the_assistant_turns(
    tokenizer: PreTrainedTokenizerBase,
) -> None:
    encoded = tokenizer.apply_chat_template(
        MESSAGES, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    ids, mask = encoded["input_ids"], encoded["assistant_masks"]
    assert len(ids) == len(mask)
    spans, current = [], []
    for token, masked in zip(ids, mask, strict=True):
        if masked:
            current.append(token)
        elif current:
            spans.append(tokenizer.decode(current))
            current = []
    assert spans == ["Sure: 3.14<|im_end|>", "Yes — «ok».<|im_end|>"]


def test_forward_pass_gives_a_finite_loss(
    demo_model_dir: Path, tokenizer: PreTrainedTokenizerBase
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(demo_model_dir).eval()
    assert model.config.vocab_size == len(tokenizer)
    assert model.config.tie_word_embeddings is False
    assert model.generation_config.eos_token_id == tokenizer.eos_token_id
    ids = torch.tensor([tokenizer.encode(CHATML, add_special_tokens=False)])
    with torch.no_grad():
        loss = model(input_ids=ids, labels=ids).loss.item()
    # Random init predicts about uniformly over the 1000 tokens: loss near ln(1000) = 6.9.
    assert math.isfinite(loss)
    assert 5.0 < loss < 9.0


def test_qwen2_variant_builds_and_runs(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, LlamaTokenizer

    model_dir = build_demo_model(tmp_path / "qwen2", arch="qwen2")
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    assert type(model).__name__ == "Qwen2ForCausalLM"
    # AutoTokenizer would pick transformers' byte-level Qwen2Tokenizer for this model type.
    tokenizer = LlamaTokenizer.from_pretrained(model_dir)
    ids = torch.tensor([tokenizer.encode(CHATML, add_special_tokens=False)])
    with torch.no_grad():
        assert math.isfinite(model(input_ids=ids, labels=ids).loss.item())


def test_job_builds_from_its_config(tmp_path: Path) -> None:
    config = DemoModelConfig(out_dir=str(tmp_path / "cli"), seed=2, vocab_size=800)
    job = write_job(config, tmp_path / "jobs", "demo")
    assert main(make_parser().parse_args(["--job-dir", str(job)])) == 0
    event = read_events(job / "events.jsonl")[-1]
    assert event.event == "finished"
    assert Path(event["path"]) == tmp_path / "cli"
    assert json.loads((tmp_path / "cli" / MARKER).read_text())["vocab_size"] == 800


def test_every_option_has_help() -> None:
    parser = make_parser()
    actions = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    assert actions
    assert all(a.help for a in actions)
    assert all(f.metadata.get("help") for f in DemoModelConfig.__dataclass_fields__.values())
