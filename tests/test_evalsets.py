"""Eval sets and eval runs: creation from a file, leakage exclusion in snapshots, and an eval
run end to end through the CLI on the tiny demo model (resume, --json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.cli.main import main
from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.evaluation.evalsets import (
    EvalSetError,
    create_eval_set,
    eval_items,
    eval_prompt_ids,
    list_eval_sets,
)
from studio.evaluation.jobs import done_prompt_ids, save_result, set_status, start_run
from studio.paths import DataPaths
from studio.registry.models import add_adapter, add_base_model


def _write_file(tmp_path: Path) -> Path:
    path = tmp_path / "gsm.jsonl"
    rows = [{"question": "What is 2+2?", "answer": "2+2 = 4\n#### 4"},
            {"prompt": "Say hi", "reference": "hi"}, {"question": "Name a colour"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_create_from_file_stores_prompts_and_references(store: Store, tmp_path: Path) -> None:
    made = create_eval_set(store, "mini", "numeric", from_file=_write_file(tmp_path))
    assert (made.name, made.size, made.grader) == ("mini", 3, "numeric")
    references = [ref for _, _, ref in eval_items(store, made.id)]
    assert references == ["2+2 = 4\n#### 4", "hi", None]
    assert [s.name for s in list_eval_sets(store)] == ["mini"]
    with pytest.raises(EvalSetError, match="exists already"):
        create_eval_set(store, "mini", "numeric", from_file=_write_file(tmp_path))


def test_bad_row_names_file_line_and_field(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "ok"}\n{"answer": "3"}\n')
    with pytest.raises(EvalSetError, match=r"bad\.jsonl:2: field 'question'"):
        create_eval_set(store, "bad", "exact", from_file=path)


def test_snapshot_leaves_out_eval_prompts(store: Store, tmp_path: Path) -> None:
    texts = [f"question {i}" for i in range(6)]
    for text in texts:
        prompt_id = store.add_prompt(text, tags=["math"] if text.endswith(("0", "1")) else [])
        store.label_thumb(store.add_response(prompt_id, f"answer to {text}"), "up", "me")
    made = create_eval_set(store, "held", "exact", tag="math")
    assert made.size == 2
    snapshot = export_snapshot(store, "kto", tmp_path / "snap", eval_fraction=0.2)
    manifest = json.loads((snapshot.path / "manifest.json").read_text())
    assert manifest["excluded_eval_prompts"] == 2
    written = [json.loads(line)["prompt_id"] for line in
               (snapshot.path / "provenance.jsonl").read_text().splitlines()]
    assert len(written) == 4
    assert not set(written) & eval_prompt_ids(store)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out


def test_eval_run_through_cli_resumes_and_reports_json(
        data_paths: DataPaths, demo_model_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = _cli(capsys, "evalset", "create", "mini", "--from-file", str(_write_file(tmp_path)),
               "--grader", "regex:.*")
    assert "3 prompts" in out
    store = Store.open(data_paths.db)
    try:
        model = add_base_model(store, demo_model_dir)
        eval_set = list_eval_sets(store)[0]
        # An earlier run stopped after one prompt: eval must resume it, not redo that prompt.
        run_id = start_run(store, eval_set.id, model.id)
        first = eval_items(store, eval_set.id)[0][0]
        save_result(store, run_id, first, "PRESET", 1.0, "kept")
        set_status(store, run_id, "cancelled")
    finally:
        store.close()
    report = json.loads(_cli(capsys, "eval", "--set", "mini", "--model", model.id,
                             "--max-new-tokens", "4", "--json"))
    assert report["run_id"] == run_id
    assert report["n"] == 3
    assert report["pass_rate"] == 1.0
    assert 0.0 < report["ci_low"] <= report["pass_rate"] <= report["ci_high"] == 1.0
    responses = {int(r["key"]): r["response"] for r in report["results"]}
    assert responses[first] == "PRESET"
    assert len(responses) == 3
    store = Store.open(data_paths.db)
    try:
        assert len(done_prompt_ids(store, run_id)) == 3
    finally:
        store.close()
    text = _cli(capsys, "eval", "--set", "mini", "--model", model.id, "--max-new-tokens", "4")
    assert "pass rate 100.0%" in text
    assert "n = 3" in text


def _zero_adapter(demo_model_dir: Path, out: Path) -> Path:
    """A real PEFT LoRA adapter whose B matrices start at zero: it answers like its base."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(demo_model_dir)
    get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"])).save_pretrained(out)
    return out


def test_eval_of_adapter_compares_with_its_parent(
        data_paths: DataPaths, demo_model_dir: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    _cli(capsys, "evalset", "create", "mini", "--from-file", str(_write_file(tmp_path)),
         "--grader", "regex:.*")
    store = Store.open(data_paths.db)
    try:
        base = add_base_model(store, demo_model_dir)
        adapter = add_adapter(store, _zero_adapter(demo_model_dir, tmp_path / "lora"), base.id)
    finally:
        store.close()
    _cli(capsys, "eval", "--set", "mini", "--model", base.id, "--max-new-tokens", "2")
    report = json.loads(_cli(capsys, "eval", "--set", "mini", "--model", adapter.id,
                             "--max-new-tokens", "2", "--json"))
    comparison = report["comparison"]
    assert comparison["parent"] == base.id
    assert comparison["flips"] == []
    assert comparison["verdict"].startswith("no significant difference")


def test_create_from_snapshot_takes_its_eval_prompts(store: Store, tmp_path: Path) -> None:
    for i in range(10):
        prompt_id = store.add_prompt(f"question {i}")
        store.label_thumb(store.add_response(prompt_id, f"answer {i}"), "up", "me")
    snapshot = export_snapshot(store, "kto", tmp_path / "snap", eval_fraction=0.3)
    made = create_eval_set(store, "held", "exact", from_snapshot=snapshot.path)
    assert made.size == snapshot.counts["eval"] > 0
    again = export_snapshot(store, "kto", tmp_path / "snap2", eval_fraction=0.3)
    manifest = json.loads((again.path / "manifest.json").read_text())
    assert manifest["excluded_eval_prompts"] == made.size
