"""The regression matrix (studio/app/eval_matrix.py): cells with intervals, engines and grader
versions, the better/worse mark against the parent (paired McNemar through the same engine),
the warnings before a launch or an export, the after-training summary, the built-in general
set, and ``tuning-studio eval --matrix`` filling the missing cells (and drift) on the tiny
model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.app.eval_matrix import (
    eval_matrix,
    missing_cells,
    regression_warning,
    starting_model_warning,
    worse_sets,
)
from studio.cli.eval_matrix import matrix_text
from studio.cli.main import main
from studio.db.store import Store
from studio.evaluation.auto import plan_all, run_summaries
from studio.evaluation.evalsets import create_eval_set, list_eval_sets
from studio.evaluation.general import (
    GENERAL_SET,
    drift_prompt_ids,
    ensure_general_set,
    general_file,
)
from studio.evaluation.graders import parse_spec
from studio.evaluation.jobs import save_result, set_status, start_run
from studio.paths import DataPaths
from studio.registry.models import add_adapter, add_base_model, add_gguf


def _set(store: Store, tmp_path: Path, name: str = "facts", n: int = 12) -> int:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"question": f"{name} question {i}?"}) + "\n"
                            for i in range(n)))
    return create_eval_set(store, name, "regex:ok", from_file=path).id


def _completed(store: Store, set_id: int, model_id: str, passes: list[int],
               engine: str = "transformers") -> int:
    run_id = start_run(store, set_id, model_id)
    prompts = [int(r[0]) for r in store.db.execute(
        "SELECT prompt_id FROM eval_items WHERE set_id = ? ORDER BY prompt_id", [set_id])]
    for prompt_id, passed in zip(prompts, passes, strict=False):
        save_result(store, run_id, prompt_id, "ok" if passed else "no", float(passed), "",
                    "regex:ok")
    store.db.execute("UPDATE eval_runs SET engine = ? WHERE id = ?", [engine, run_id])
    set_status(store, run_id, "completed")
    return run_id


def _adapter(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    return folder


def test_tuned_model_flagged_worse_than_its_parent(
        store: Store, demo_model_dir: Path, tmp_path: Path) -> None:
    set_id = _set(store, tmp_path)
    base = add_base_model(store, demo_model_dir, name="demo")
    tuned = add_adapter(store, _adapter(tmp_path, "lora"), base.id, name="tuned")
    _completed(store, set_id, base.id, [1] * 12)
    _completed(store, set_id, tuned.id, [1, 1] + [0] * 10)
    matrix = eval_matrix(store)
    assert [s.name for s in matrix.sets] == ["facts", GENERAL_SET]  # general: always a column
    assert [r.model.id for r in matrix.rows] == [base.id, tuned.id]  # lineage order
    assert [r.depth for r in matrix.rows] == [0, 1]
    cell = matrix.rows[1].cells["facts"]
    assert cell.mark == "worse"
    assert cell.score is not None
    assert cell.score.engine == "transformers"
    assert cell.graders == "regex:ok"
    assert cell.comparison is not None
    assert len(cell.comparison.flips) == 10
    assert cell.text().endswith("▼")
    assert matrix.rows[0].cells["facts"].mark == ""  # a base model has no parent
    assert matrix.rows[1].cells[GENERAL_SET].score is None
    # Listing the general column wrote nothing into the user's prompts.
    assert [s.name for s in list_eval_sets(store)] == ["facts"]
    assert worse_sets(store, tuned.id) == ["facts"]
    warning = regression_warning(store, tuned.id)
    assert warning is not None
    assert "facts" in warning
    assert regression_warning(store, base.id) is None
    assert starting_model_warning(store, tuned.path) == warning  # a training config's path
    text = matrix_text(matrix)
    assert "tuned got worse on facts" in text
    data = matrix.as_dict()
    assert data["models"][1]["cells"][0]["mark"] == "worse"
    assert data["models"][1]["cells"][0]["vs_parent"]["p_value"] < 0.05


def test_no_mark_when_the_parent_ran_on_another_engine_or_the_change_is_chance(
        store: Store, demo_model_dir: Path, tmp_path: Path) -> None:
    set_id = _set(store, tmp_path)
    base = add_base_model(store, demo_model_dir, name="demo")
    tuned = add_adapter(store, _adapter(tmp_path, "lora"), base.id, name="tuned")
    _completed(store, set_id, base.id, [1] * 12, engine="llama.cpp")
    _completed(store, set_id, tuned.id, [0] * 12)
    assert eval_matrix(store).rows[1].cells["facts"].comparison is None
    _completed(store, set_id, base.id, [1, 1, 0] + [0] * 9)
    _completed(store, set_id, tuned.id, [1] + [0] * 11)
    cell = eval_matrix(store).rows[1].cells["facts"]
    assert cell.comparison is not None
    assert cell.mark == ""


def test_run_summary_lists_the_sets_that_got_worse(
        store: Store, demo_model_dir: Path, tmp_path: Path) -> None:
    worse, same = _set(store, tmp_path, "worse"), _set(store, tmp_path, "same")
    base = add_base_model(store, demo_model_dir, name="demo")
    store.db.table("runs").insert({
        "id": "run-x", "method": "sft", "status": "completed", "config": "{}",
        "run_dir": str(tmp_path / "run-x"), "base_model": base.id, "metrics": "{}",
        "created_at": "2026-12-03T11:00:00Z"})
    tuned = add_adapter(store, _adapter(tmp_path, "lora"), base.id, run_id="run-x")
    for set_id, after in ((worse, [0] * 12), (same, [1] * 12)):
        _completed(store, set_id, base.id, [1] * 12)
        _completed(store, set_id, tuned.id, after)
    lines = run_summaries(store, "run-x")
    assert lines[0] == "Significantly worse than its parent on: worse"
    assert len(lines) == 3


def test_missing_cells_pair_each_model_with_its_parent_cheapest_first(
        store: Store, demo_model_dir: Path, demo_gguf: Path, tmp_path: Path) -> None:
    _set(store, tmp_path, "small", 3)
    base = add_base_model(store, demo_model_dir, name="demo")
    add_gguf(store, demo_gguf, base.id, "F16")
    tuned = add_adapter(store, _adapter(tmp_path, "lora"), base.id, name="tuned")
    configs, skipped = missing_cells(store)
    assert skipped == []
    cells = [(c.set_name, c.model_id, c.engine) for c in configs]
    # The base on its own GGUF, and through transformers for its adapter's comparison.
    assert set(cells) == {("small", base.id, "llama.cpp"), ("small", base.id, "transformers"),
                          ("small", tuned.id, "transformers"),
                          (GENERAL_SET, base.id, "llama.cpp"),
                          (GENERAL_SET, base.id, "transformers"),
                          (GENERAL_SET, tuned.id, "transformers")}
    assert cells[0] == ("small", base.id, "llama.cpp")  # fewest prompts, fastest engine
    assert cells[-1][0] == GENERAL_SET
    assert cells[-1][2] == "transformers"
    after = plan_all(store, tuned.id)
    assert [(c.set_name, c.model_id) for c in after] == [
        ("small", base.id), ("small", tuned.id), (GENERAL_SET, base.id),
        (GENERAL_SET, tuned.id)]


def test_general_set_ships_verifiable_prompts_and_drift_skips_trained_ones(
        store: Store) -> None:
    rows = [json.loads(line) for line in general_file().read_text().splitlines()]
    assert 90 <= len(rows) <= 120
    assert all(r["question"] and r["answer"] for r in rows)
    grader = parse_spec("mentions")
    assert grader.score("q", "The capital of France is Paris.", "Paris").passed
    assert not grader.score("q", "It is Parisian.", "Paris").passed
    assert grader.score("q", "6 times 7 is 42.", "42|forty-two").passed
    general = ensure_general_set(store)
    assert general.size == len(rows)
    assert general.grader == "mentions"
    assert ensure_general_set(store).id == general.id  # made once
    mine = store.add_prompt("Tell me about rivers.")
    ids = drift_prompt_ids(store)
    assert len(ids) == general.size + 1
    assert ids[-1] == mine


# In the default suite (heavy tier, from its fixture): 37 s on an idle machine.
def test_cli_matrix_fills_every_cell_and_drift_on_the_tiny_model(
        demo_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    data = tmp_path / "d"
    store = Store.open(DataPaths.at(data).db)
    _set(store, tmp_path, "small", 3)
    base = add_base_model(store, demo_model_dir, name="demo")
    lora = tmp_path / "lora"
    get_peft_model(AutoModelForCausalLM.from_pretrained(demo_model_dir),
                   LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(lora)
    tuned = add_adapter(store, lora, base.id, name="tuned")
    store.close()
    args = ["--data-dir", str(data), "eval", "--matrix", "--max-new-tokens", "4", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in out["sets"]] == [GENERAL_SET, "small"]
    by_id = {m["id"]: m for m in out["models"]}
    assert all("pass_rate" in c for m in by_id.values() for c in m["cells"])
    assert by_id[tuned.id]["drift"]["kl"] >= 0
    assert by_id[base.id]["drift"] is None
    assert main(args) == 0  # nothing left to evaluate: prints at once
    assert "[1/" not in capsys.readouterr().err
