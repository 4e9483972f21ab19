"""Candidate generation with the real llama.cpp on the tiny demo GGUF."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from studio.candidates.generation import GenerationConfig, GenerationConfigError, create_job
from studio.db.store import Store
from studio.events import Event, read_events
from studio.jobs.launch import follow, job_command, request_stop, spawn, stop_requested
from studio.paths import DataPaths


def run_generate(job: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(job_command("generate", job), capture_output=True, text=True,
                          timeout=300, check=False, stdin=subprocess.DEVNULL)


@pytest.fixture
def prompts(store: Store) -> list[int]:
    return [store.add_prompt(text) for text in ("Say hello.", "Count to three.")]


def config_for(gguf: Path, prompt_ids: list[int], n: int = 3) -> GenerationConfig:
    return GenerationConfig(model_path=str(gguf), model_name="demo-base", prompt_ids=prompt_ids,
                            n=n, max_tokens=12, n_ctx=256, threads=1)


def test_candidates_are_stored_with_params_and_rerun_adds_nothing(
    store: Store, data_paths: DataPaths, demo_gguf: Path, prompts: list[int]
) -> None:
    job = create_job(data_paths.root / "jobs", config_for(demo_gguf, prompts), data_paths.db)
    result = run_generate(job)
    assert result.returncode == 0, result.stderr
    events = read_events(job / "events.jsonl")
    assert events[-1].event == "finished"
    stored = events[-1]["stored"]
    candidates = [r for p in prompts for r in store.responses_for(p)]
    assert len(candidates) == stored >= 4  # identical samples are stored once
    params = candidates[0].gen_params
    assert candidates[0].model == "demo-base"
    assert candidates[0].origin == "model"
    assert params is not None
    assert {"temperature", "top_p", "seed", "candidate", "signature"} <= set(params)
    again = run_generate(create_job(data_paths.root / "jobs", config_for(demo_gguf, prompts),
                                    data_paths.db))
    assert again.returncode == 0, again.stderr
    assert store.counts()["responses"] == len(candidates)


def test_cancel_keeps_finished_candidates(
    store: Store, data_paths: DataPaths, demo_gguf: Path
) -> None:
    # Enough work (240 candidates) that the stop lands mid-run even when this process is
    # starved: with 16 the child could finish before the first event was read, and a SIGTERM
    # that lands during interpreter shutdown kills it (-15). The stop file is the mechanism
    # every OS has; SIGTERM's handler is the same flag (tests/faults cover the signal).
    prompt_ids = [store.add_prompt(f"Say hello to number {i}.") for i in range(30)]
    config = config_for(demo_gguf, prompt_ids, n=8)
    config.max_tokens = 48
    job = create_job(data_paths.root / "jobs", config, data_paths.db)
    process = spawn("generate", job)

    def cancel_after_first(event: Event) -> None:  # the first stored candidate, then cancel
        if event.get("stage") == "generate" and not stop_requested(job):
            request_stop(job)

    follow(job, process, cancel_after_first)
    assert process.wait(timeout=60) == 0
    last = read_events(job / "events.jsonl")[-1]
    assert last.event == "cancelled"
    kept = store.counts()["responses"]
    assert 1 <= kept < 240
    assert kept <= last["done"]


def test_bad_configs_are_refused(demo_gguf: Path, tmp_path: Path) -> None:
    with pytest.raises(GenerationConfigError, match="1-8"):
        config_for(demo_gguf, [1], n=9).validate()
    with pytest.raises(GenerationConfigError, match="at least one prompt"):
        config_for(demo_gguf, []).validate()
    with pytest.raises(GenerationConfigError, match="not found"):
        config_for(tmp_path / "missing.gguf", [1]).validate()


def test_failure_is_reported_as_an_event(data_paths: DataPaths, tmp_path: Path,
                                         prompts: list[int]) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF not really")
    job = data_paths.root / "jobs" / "broken"
    job.mkdir(parents=True)
    config = config_for(bad, prompts)
    config.db = str(data_paths.db)
    config.save(job)
    result = run_generate(job)
    assert result.returncode == 1
    last = read_events(job / "events.jsonl")[-1]
    assert last.event == "failed"
    assert (job / "generate.log").exists()


def test_temperature_schedule_spans_min_to_max(demo_gguf: Path) -> None:
    config = config_for(demo_gguf, [1], n=4)
    temps = [config.sampling(i)["temperature"] for i in range(4)]
    assert temps == [0.7, 0.8, 0.9, 1.0]
    assert len({config.signature(i) for i in range(4)}) == 4
