"""Family 1: model code never runs. Folders that need custom code, or hold only pickle
weights, are refused with a clear message on every path that loads a model folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from studio.jobs.launch import spawn
from studio.registry.export_config import create_export_job
from studio.registry.safety import UnsafeModelError, check_model_folder
from studio.training.config import TrainConfig

MARKER = "code-ran.txt"
# If any loader ever imported this module, the marker file would appear next to it.
EVIL = f"import pathlib\npathlib.Path(__file__).with_name({MARKER!r}).write_text('ran')\n"


def _folder(tmp_path: Path, kind: str) -> Path:
    folder = tmp_path / kind
    folder.mkdir()
    config: dict[str, Any] = {"model_type": "llama", "architectures": ["LlamaForCausalLM"]}
    tokenizer: dict[str, Any] = {"tokenizer_class": "LlamaTokenizer"}
    weights = "model.safetensors"
    if kind == "auto_map":
        config["auto_map"] = {"AutoModelForCausalLM": "evil.EvilModel"}
    elif kind == "tokenizer_code":
        tokenizer["auto_map"] = {"AutoTokenizer": ["evil.EvilTokenizer", None]}
    elif kind == "pickle_only":
        weights = "pytorch_model.bin"
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer))
    (folder / "evil.py").write_text(EVIL)
    (folder / weights).write_bytes(b"not loaded")
    return folder


def _adapter(tmp_path: Path, weights: str) -> Path:
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    (folder / weights).write_bytes(b"not loaded")
    return folder


KINDS = ["auto_map", "tokenizer_code", "pickle_only"]


def _paths(folder: Path, adapter: Path) -> dict[str, Callable[[], Any]]:
    from backends.lib import export_gguf, export_merge, export_pipeline, train_setup

    config = TrainConfig.for_method("sft", "", "balanced")
    config.model = str(folder)
    log = folder.parent / "convert.log"
    return {
        "train tokenizer": lambda: train_setup.load_tokenizer(config),
        "train model": lambda: train_setup.load_model(
            config, train_setup.TrainDevice("cpu", "fp32", "cpu")),
        "merge": lambda: export_merge.merge_adapter(folder, adapter, folder.parent / "m"),
        "self-check load": lambda: export_pipeline._load(folder),
        "self-check tokenizer": lambda: export_pipeline._tokenizer(folder),
        "converter": lambda: export_gguf.convert_model(folder, folder.parent / "x.gguf", log,
                                                       lambda: None),
        "lora converter": lambda: export_gguf.convert_lora(folder, adapter,
                                                           folder.parent / "l.gguf", log,
                                                           lambda: None),
    }


@pytest.mark.heavy  # loads transformers in child processes, once per kind
@pytest.mark.parametrize("kind", KINDS)
def test_every_loading_path_refuses(tmp_path: Path, kind: str) -> None:
    folder = _folder(tmp_path, kind)
    adapter = _adapter(tmp_path, "adapter_model.safetensors")
    for name, load in _paths(folder, adapter).items():
        with pytest.raises(UnsafeModelError) as caught:
            load()
        message = str(caught.value)
        expected = "pickle weights" if kind == "pickle_only" else "custom Python code"
        assert expected in message, (name, message)
        assert str(folder) in message, (name, message)
    assert not (folder / MARKER).exists()


def test_pickle_only_adapter_is_refused_in_merge(tmp_path: Path) -> None:
    from backends.lib.export_merge import merge_adapter

    base = _folder(tmp_path, "clean")
    adapter = _adapter(tmp_path, "adapter_model.bin")
    with pytest.raises(UnsafeModelError, match=r"only pickle weights.*convert them to safetensors"):
        merge_adapter(base, adapter, tmp_path / "merged")


def test_clean_folders_pass(demo_model_dir: Path) -> None:
    check_model_folder(demo_model_dir)


@pytest.mark.parametrize("kind", ["auto_map", "pickle_only"])
def test_export_job_reports_a_failed_event(tmp_path: Path, kind: str) -> None:
    folder = _folder(tmp_path, kind)
    job = create_export_job(tmp_path, tmp_path / "job", model=folder)
    done = spawn("export", job)
    assert done.wait(timeout=120) == 1
    events = [json.loads(line) for line in (job / "events.jsonl").read_text().splitlines()]
    assert events[-1]["event"] == "failed"
    assert ("pickle weights" if kind == "pickle_only" else "custom Python code") \
        in events[-1]["message"]
    assert not (folder / MARKER).exists()
