"""Eval runs on the tiny demo model: llama.cpp where a GGUF exists (greedy, the same answers
twice), transformers otherwise, the engine named in the results; a cancelled run resumes
without redoing prompts; a killed run is detected and marked failed with its log's tail."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from studio.cli.main import main
from studio.db.store import Store
from studio.evaluation.evalsets import create_eval_set
from studio.evaluation.graders.pyfile import file_hash
from studio.evaluation.jobs import (
    attach_run,
    get_eval_run,
    save_result,
    set_status,
    start_run,
    sync_eval_runs,
)
from studio.events import read_events
from studio.paths import DataPaths
from studio.registry.models import ModelEntry, add_adapter, add_base_model, add_gguf

PROMPTS = [f"Question {i}: what comes after {i}?" for i in range(5)]


def _set_file(tmp_path: Path) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps({"question": q, "answer": str(i + 1)}) + "\n"
                            for i, q in enumerate(PROMPTS)))
    return path


def _eval(capsys: pytest.CaptureFixture[str], *extra: str) -> dict:
    capsys.readouterr()
    assert main(["eval", "--set", "s", "--max-new-tokens", "8", "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _models(store: Store, demo_model_dir: Path, demo_gguf: Path) -> tuple[ModelEntry,
                                                                       ModelEntry]:
    base = add_base_model(store, demo_model_dir)
    return base, add_gguf(store, demo_gguf, base.id, "F16")


def test_llama_cpp_where_a_gguf_exists_else_transformers(
        store: Store, demo_model_dir: Path, demo_gguf: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    create_eval_set(store, "s", "regex:.*", from_file=_set_file(tmp_path))
    base, _ = _models(store, demo_model_dir, demo_gguf)
    first = _eval(capsys, "--model", base.id)
    assert first["engine"] == "llama.cpp"
    assert first["n"] == len(PROMPTS)
    again = _eval(capsys, "--model", base.id)
    assert again["run_id"] != first["run_id"]
    # Greedy with a fixed seed: the same answers every time.
    assert [r["response"] for r in again["results"]] == [r["response"]
                                                          for r in first["results"]]
    forced = _eval(capsys, "--model", base.id, "--engine", "transformers")
    assert forced["engine"] == "transformers"
    assert get_eval_run(store, forced["run_id"]).engine == "transformers"


def _acting_grader(tmp_path: Path, action: str) -> Path:
    """A Python-file grader that, grading the 2nd prompt, acts on the eval job that runs it
    (its parent process): writes the job's stop file, or kills the job outright (once)."""
    path = tmp_path / f"{action}.py"
    path.write_text(textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        import psutil

        COUNT = Path({str(tmp_path / (action + '.count'))!r})

        def grade(prompt, response, reference):
            seen = int(COUNT.read_text()) + 1 if COUNT.exists() else 1
            COUNT.write_text(str(seen))
            if seen == 2:
                job = psutil.Process(os.getppid())
                args = job.cmdline()
                job_dir = Path(args[args.index("--job-dir") + 1])
                if {action!r} == "stop":
                    (job_dir / "stop").write_text("test")
                else:
                    os.kill(job.pid, signal.SIGKILL)
            return 1.0
    """))
    return path


def test_cancelled_run_resumes_without_redoing_prompts(
        store: Store, data_paths: DataPaths, demo_model_dir: Path, demo_gguf: Path,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_eval_set(store, "s", f"python:{_acting_grader(tmp_path, 'stop')}",
                    from_file=_set_file(tmp_path))
    base, _ = _models(store, demo_model_dir, demo_gguf)
    capsys.readouterr()
    assert main(["eval", "--set", "s", "--model", base.id, "--max-new-tokens", "4"]) == 1
    assert "cancelled" in capsys.readouterr().err
    run = get_eval_run(store, 1)
    assert run.status == "cancelled"
    report = _eval(capsys, "--model", base.id)
    assert report["run_id"] == run.id
    assert report["n"] == len(PROMPTS)
    jobs = sorted((data_paths.root / "jobs").iterdir())
    started = [e for e in read_events(jobs[-1] / "events.jsonl") if e.event == "started"]
    assert (started[0]["skipped"], started[0]["total"]) == (2, len(PROMPTS) - 2)
    # The result says which file graded it: its name and hash.
    assert {r["grader"].split(" [")[1] for r in report["results"]} == {
        f"stop.py@sha256:{file_hash(tmp_path / 'stop.py')[:16]}]"}
    # Every prompt was graded exactly once across the two jobs.
    assert (tmp_path / "stop.count").read_text() == str(len(PROMPTS))


def test_killed_run_is_marked_failed_with_its_log(
        store: Store, data_paths: DataPaths, demo_model_dir: Path, demo_gguf: Path,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    create_eval_set(store, "s", f"python:{_acting_grader(tmp_path, 'kill')}",
                    from_file=_set_file(tmp_path))
    base, _ = _models(store, demo_model_dir, demo_gguf)
    capsys.readouterr()
    assert main(["eval", "--set", "s", "--model", base.id, "--max-new-tokens", "4"]) == 1
    assert "crashed" in capsys.readouterr().err
    run = get_eval_run(store, 1)
    assert run.status == "failed"
    assert "stopped without reporting" in (run.error or "")
    assert sync_eval_runs(store) == []
    # The next eval resumes it: the prompt graded before the kill is kept.
    report = _eval(capsys, "--model", base.id)
    assert report["run_id"] == run.id
    assert report["n"] == len(PROMPTS)


def test_a_running_row_whose_process_is_gone_becomes_failed(
        store: Store, tmp_path: Path) -> None:
    made = create_eval_set(store, "s", "exact", from_file=_set_file(tmp_path))
    run_id = start_run(store, made.id, "base-x")
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / "pid").write_text("999999999")
    (job_dir / "eval.log").write_text("loading\nSegmentation fault\n")
    attach_run(store, run_id, "llama.cpp", job_dir)
    assert get_eval_run(store, run_id).status == "running"
    assert sync_eval_runs(store) == []
    run = get_eval_run(store, run_id)
    assert run.status == "failed"
    assert "Segmentation fault" in (run.error or "")


def test_a_run_resumes_only_with_the_engine_it_started_with(
        store: Store, demo_model_dir: Path, demo_gguf: Path, tmp_path: Path) -> None:
    from studio.evaluation.auto import eval_config

    set_id = create_eval_set(store, "s", "exact", from_file=_set_file(tmp_path)).id
    base, _ = _models(store, demo_model_dir, demo_gguf)
    run_id = start_run(store, set_id, base.id)
    attach_run(store, run_id, "llama.cpp", tmp_path)
    set_status(store, run_id, "cancelled")
    assert eval_config(store, "s", base.id).run_id == run_id
    assert eval_config(store, "s", base.id, engine="transformers").run_id is None


def test_a_run_killed_after_a_stop_request_counts_as_cancelled(
        store: Store, tmp_path: Path) -> None:
    made = create_eval_set(store, "s", "exact", from_file=_set_file(tmp_path))
    run_id = start_run(store, made.id, "base-x")
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    (job_dir / "stop").write_text("asked")
    attach_run(store, run_id, "llama.cpp", job_dir)
    assert sync_eval_runs(store) == []
    assert get_eval_run(store, run_id).status == "cancelled"


def test_before_after_uses_one_engine_for_parent_and_model(
        store: Store, demo_model_dir: Path, demo_gguf: Path, tmp_path: Path) -> None:
    from studio.evaluation.auto import before_after, plan

    set_id = create_eval_set(store, "s", "exact", from_file=_set_file(tmp_path)).id
    base, _ = _models(store, demo_model_dir, demo_gguf)
    folder = tmp_path / "lora"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    adapter = add_adapter(store, folder, base.id)
    # The base has a GGUF and a llama.cpp score; the adapter has no GGUF (transformers).
    _finished(store, set_id, base.id, "llama.cpp", [1, 1, 1, 1, 1])
    configs = plan(store, "s", adapter.id)
    assert [(c.model_id, c.engine) for c in configs] == [(base.id, "transformers"),
                                                         (adapter.id, "transformers")]
    _finished(store, set_id, base.id, "transformers", [0, 0, 0, 0, 0])
    _finished(store, set_id, adapter.id, "transformers", [1, 1, 1, 1, 1])
    found = before_after(store, "s", adapter.id)
    assert found is not None
    assert found.comparison.before.rate == 0.0  # the transformers run, not the llama.cpp one
    assert [c.model_id for c in plan(store, "s", adapter.id)] == [adapter.id]


def _finished(store: Store, set_id: int, model_id: str, engine: str,
              passes: list[int]) -> None:
    run_id = start_run(store, set_id, model_id)
    attach_run(store, run_id, engine, Path("/nonexistent"))
    for prompt_id, passed in enumerate(passes, start=1):
        save_result(store, run_id, prompt_id, "x", float(passed), "")
    set_status(store, run_id, "completed")
