"""GGUF export on the tiny model: real PEFT merge, llama.cpp's converter, quantize, self-check,
registration, cancel, and the named errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_export_helpers import run_export, shared_adapter

from backends.lib.export_gguf import convert_model, partial_path
from backends.lib.export_gguf_file import GGUFFileError, read_gguf
from backends.lib.export_merge import (
    DiskFullError,
    MissingTokenizerError,
    PreTokenizerError,
    UnsupportedArchitectureError,
    save_or_disk_full,
)
from backends.lib.export_pipeline import run_export as run_pipeline
from studio.db.store import Store
from studio.events import Event, EventWriter
from studio.jobs.launch import follow, request_stop, spawn, stop_requested
from studio.paths import DataPaths
from studio.registry import models
from studio.registry.converter import prepare_converter
from studio.registry.export_config import ExportConfig, create_export_job


def test_adapter_export_registers_checked_ggufs(
    demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, store: Store,
    data_paths: DataPaths,
) -> None:
    adapter_dir = shared_adapter(tmp_path_factory, demo_model_dir)
    base = models.add_base_model(store, demo_model_dir)
    adapter = models.add_adapter(store, adapter_dir, base.id, name="sft-1")
    job = data_paths.exports / "job1"
    events = run_export(job, adapter=adapter_dir, quants=["Q8_0", "Q4_K_M"],
                        db=data_paths.db, parent_id=adapter.id)
    stages = [e["stage"] for e in events if e["event"] == "progress"]
    assert stages == ["check", "merge", "convert", "selfcheck", "quantize", "quantize",
                      "register"]
    finished = events[-1]
    assert finished["event"] == "finished"
    assert finished["selfcheck_passed"], finished["selfcheck_summary"]
    # Where the time went, step by step (the bench compares it with the raw converter).
    assert [s["stage"] for s in finished["stage_s"]] == [
        "check", "merge", "convert", "selfcheck F16", "quantize Q8_0", "selfcheck Q8_0",
        "quantize Q4_K_M", "selfcheck Q4_K_M", "register"]
    assert all(s["s"] >= 0 for s in finished["stage_s"])
    f16, q8, q4 = finished["outputs"]
    assert f16["selfcheck"]["reference"] == "hf"
    assert f16["selfcheck"]["tokenizer_match"]
    assert f16["selfcheck"]["share"] >= 0.95
    assert q8["selfcheck"]["reference"] == q4["selfcheck"]["reference"] == "F16"
    assert q8["selfcheck"]["share"] > 0.5
    # The tokenizer travels byte for byte (transformers 5 would drop tokenizer.model).
    for name in ("tokenizer.model", "tokenizer_config.json"):
        assert (job / "merged" / name).read_bytes() == (demo_model_dir / name).read_bytes()
    info = read_gguf(f16["path"])
    assert "<|im_start|>" in (info.chat_template or "")
    assert info.eos_text == "<|im_end|>"
    modelfile = Path(q4["modelfile"]).read_text()
    assert modelfile.startswith("FROM ./model-Q4_K_M.gguf")
    assert 'PARAMETER stop "<|im_end|>"' in modelfile
    assert not list(job.glob("*.partial"))
    registered = [models.get_model(store, i) for i in finished["registered"]]
    assert [m.kind for m in registered] == ["merged", "gguf", "gguf", "gguf"]
    assert [e.kind for e in models.lineage(store, registered[-1].id)] == [
        "base", "adapter", "merged", "gguf"]
    assert registered[1].selfcheck["passed"]  # type: ignore[index]
    assert registered[3].quant == "Q4_K_M"


def test_cancel_registers_nothing_and_leaves_no_files(
    demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, store: Store,
    data_paths: DataPaths,
) -> None:
    adapter_dir = shared_adapter(tmp_path_factory, demo_model_dir)
    prepare_converter()
    job = create_export_job(data_paths.exports, adapter=adapter_dir, db=data_paths.db)
    process = spawn("export", job)

    def stop_at_convert(event: Event) -> None:
        if event.get("stage") == "convert" and not stop_requested(job):
            request_stop(job, process.pid)  # the one stop mechanism: stop file + SIGTERM

    last = follow(job, process, stop_at_convert)
    assert process.wait(timeout=60) == 0  # a clean stop, as every job ends one
    assert last is not None
    assert last.event == "cancelled"
    # Only the job's own files stay (how it ended); every export output is gone.
    assert {p.name for p in job.iterdir()} <= {"config.json", "events.jsonl", "export.log",
                                               "pid", "stop"}
    assert models.list_models(store) == []


def _demo_copy(demo_model_dir: Path, target: Path) -> Path:
    shutil.copytree(demo_model_dir, target)
    return target


def _config(tmp_path: Path, model: Path) -> ExportConfig:
    out = tmp_path / "job"
    out.mkdir()
    return ExportConfig(out_dir=str(out), model=str(model), quants=["F16"])


def test_unsupported_architecture_is_named(demo_model_dir: Path, tmp_path: Path) -> None:
    model = _demo_copy(demo_model_dir, tmp_path / "odd")
    config = json.loads((model / "config.json").read_text())
    config["architectures"] = ["FrobnicatorForCausalLM"]
    (model / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedArchitectureError, match="FrobnicatorForCausalLM"):
        run_pipeline(_config(tmp_path, model), EventWriter(tmp_path / "events.jsonl"))


def test_missing_tokenizer_files_are_named(demo_model_dir: Path, tmp_path: Path) -> None:
    model = _demo_copy(demo_model_dir, tmp_path / "notok")
    for name in ("tokenizer.model", "tokenizer.json"):
        (model / name).unlink()
    with pytest.raises(MissingTokenizerError, match=r"tokenizer\.model or tokenizer\.json"):
        run_pipeline(_config(tmp_path, model), EventWriter(tmp_path / "events.jsonl"))


def test_unrecognized_pre_tokenizer(demo_model_dir: Path, tmp_path: Path) -> None:
    from tokenizers import Tokenizer, pre_tokenizers, trainers
    from tokenizers import models as tok_models

    model = _demo_copy(demo_model_dir, tmp_path / "bpe")
    (model / "tokenizer.model").unlink()
    tokenizer = Tokenizer(tok_models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    corpus = (Path(__file__).parent.parent / "resources" / "demo_corpus.txt").read_text()
    tokenizer.train_from_iterator(corpus.splitlines(), trainers.BpeTrainer(
        vocab_size=600, special_tokens=["<unk>", "<s>", "</s>", "<pad>", "<|im_start|>",
                                        "<|im_end|>"]))
    tokenizer.save(str(model / "tokenizer.json"))
    settings = json.loads((model / "tokenizer_config.json").read_text())
    settings["tokenizer_class"] = "PreTrainedTokenizerFast"
    (model / "tokenizer_config.json").write_text(json.dumps(settings))
    prepare_converter()
    with pytest.raises(PreTokenizerError, match="pre-tokenizer"):
        convert_model(model, tmp_path / "x.gguf", tmp_path / "log.txt", lambda: None)
    assert not (tmp_path / "x.gguf").exists()


def test_disk_full_is_reported(demo_model_dir: Path, tmp_path: Path) -> None:
    prepare_converter()
    out = tmp_path / "model-F16.gguf"
    partial_path(out).symlink_to("/dev/full")  # every write to it fails with ENOSPC
    with pytest.raises(DiskFullError, match="disk"):
        convert_model(demo_model_dir, out, tmp_path / "log.txt", lambda: None)
    with pytest.raises(DiskFullError, match="full"):
        save_or_disk_full(lambda: Path("/dev/full").write_bytes(b"x" * 10), tmp_path)


def test_bad_missing_and_truncated_gguf(
    demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    from test_export_helpers import shared_exports

    good = shared_exports(tmp_path_factory, demo_model_dir)["base"]
    assert read_gguf(good).architecture == "llama"
    with pytest.raises(GGUFFileError, match="does not exist"):
        read_gguf(tmp_path / "gone.gguf")
    (tmp_path / "bad.gguf").write_text("hello, not a model")
    with pytest.raises(GGUFFileError, match="not a GGUF file"):
        read_gguf(tmp_path / "bad.gguf")
    data = good.read_bytes()
    for cut in (100, len(data) // 2, len(data) - 10):
        (tmp_path / "cut.gguf").write_bytes(data[:cut])
        with pytest.raises(GGUFFileError, match="truncated"):
            read_gguf(tmp_path / "cut.gguf")
