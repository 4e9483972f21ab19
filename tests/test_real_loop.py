"""The loop's llama.cpp half on a real model (SmolLM2-135M-Instruct, converted from its GGUF):
export with the self-check passing, chat through the worker with the embedded template, and
candidates written by ``tuning-studio generate``. One export is shared by the module."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_chat import Worker
from test_export_helpers import run_export

from studio.cli.main import main
from studio.db.store import Store
from studio.paths import DataPaths
from studio.registry.models import add_base_model, list_models

# The person's own texts: newlines before digits are what 3 fixed prompts missed.
TEXTS = ["Steps:\n\n1. Preheat to 200 °C.\n2. Bake 25 min.", "Order #4471\n\n12 items, $89.90",
         "What is the capital of France?", "Write a haiku about autumn."]


@pytest.fixture(scope="module")
def real_export(real_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """F16 + Q8_0 GGUFs of the real model, self-checked, with the texts above in the db."""
    out = tmp_path_factory.mktemp("real-export")
    store = Store.open(out / "studio.db")
    for text in TEXTS:
        store.add_prompt([{"role": "user", "content": text}])
    store.close()
    events = run_export(out / "job", model=real_model_dir, quants=["Q8_0"],
                        db=out / "studio.db", selfcheck_tokens=24)
    (finished,) = [e for e in events if e["event"] == "finished"]
    return {o["quant"]: o for o in finished["outputs"]}


def test_export_self_check_passes_on_the_real_model(real_export: dict[str, Any]) -> None:
    f16, q8 = real_export["F16"]["selfcheck"], real_export["Q8_0"]["selfcheck"]
    assert f16["passed"], f16["summary"]
    assert f16["tokenizer_match"]
    assert f16["share"] >= 0.95
    assert q8["share"] >= 0.85  # measured 97% here; quantized files are compared to F16
    data = f16["data_tokenization"]
    assert data["texts"] == len(TEXTS)
    assert data["differing"] == 0, data["examples"]


def test_the_modelfile_carries_the_default_system_prompt(real_export: dict[str, Any]) -> None:
    modelfile = Path(real_export["Q8_0"]["modelfile"]).read_text()
    assert 'SYSTEM """You are a helpful AI assistant named SmolLM' in modelfile
    assert 'PARAMETER stop "<|im_end|>"' in modelfile


def test_chat_worker_answers_with_the_embedded_template(real_export: dict[str, Any]) -> None:
    worker = Worker()
    try:
        worker.send(cmd="load", model=real_export["Q8_0"]["path"], n_ctx=512)
        assert worker.until("loaded")[-1]["chat_template"]
        worker.send(cmd="chat", id="q", temperature=0.0, max_tokens=24, seed=0,
                    messages=[{"role": "user", "content": "What is the capital of France?"}])
        done = worker.until("done")[-1]
        assert "Paris" in done["text"]
        assert done["finish_reason"] == "stop"  # it ended on <|im_end|>, not the length cap
        assert worker.close() == 0
    finally:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


def test_generate_writes_candidates_from_the_real_model(
        real_model_dir: Path, store: Store, data_paths: DataPaths,
        capsys: pytest.CaptureFixture[str]) -> None:
    base = add_base_model(store, real_model_dir, name="SmolLM2")
    assert base.meta["gguf"]["quant"] == "Q4_1"  # its lineage came with the folder
    for text in TEXTS[2:]:
        store.add_prompt([{"role": "user", "content": text}])
    argv = ["--data-dir", str(data_paths.root), "generate", "--model", base.id,
            "--per-prompt", "2", "--limit", "2", "--max-tokens", "24"]
    assert main(argv) == 0
    assert "stored 4 candidates" in capsys.readouterr().out
    rows = list(store.db.query("SELECT text, model FROM responses WHERE origin = 'model'"))
    assert len(rows) == 4
    assert all(r["text"].strip() and r["model"] == "SmolLM2" for r in rows)
    assert main(argv) == 0  # nothing left to do
    assert "nothing to do" in capsys.readouterr().out
    # No model was registered by generating: the base and its own GGUF (its chat-ready copy).
    assert [(m.kind, m.parent_id) for m in list_models(store)] == [("base", None),
                                                                     ("gguf", base.id)]
