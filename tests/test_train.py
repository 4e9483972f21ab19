"""Real TRL training on the tiny demo model: SFT, DPO and KTO through the run folder protocol."""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from backends.lib.train_synthetic import populate, synthetic_run
from studio.db.store import Store
from studio.events import read_events
from studio.paths import DataPaths
from studio.registry.models import get_model, list_models
from studio.training.runs import (
    Run,
    cancel_run,
    get_run,
    launch_command,
    resume_run,
    start_next,
    sync_run,
)

REPO = Path(__file__).resolve().parent.parent


def run_backend(run: Run, paths: DataPaths) -> subprocess.CompletedProcess[str]:
    return subprocess.run(launch_command(run.run_dir), cwd=REPO, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300, check=False)


def wait_for(condition: Callable[[], bool], timeout: float = 120.0) -> None:
    """Poll a condition of another process (a run folder): there is no signal to wait on."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.fixture
def labeled(store: Store) -> Store:
    populate(store, 24)
    return store


@pytest.mark.parametrize("method", ["sft", "dpo", "kto"])
def test_method_trains_a_loadable_adapter(method: str, labeled: Store, data_paths: DataPaths,
                                          demo_model_dir: Path) -> None:
    run = synthetic_run(labeled, data_paths, method, str(demo_model_dir))
    result = run_backend(run, data_paths)
    assert result.returncode == 0, result.stderr[-2000:] + run.dir.log.read_text()[-2000:]
    events = read_events(run.dir.events)
    # before training, a CPU run only says what it prepares (timing a step for its budget)
    names = [e.event for e in events if e.event != "progress" or e.get("stage") != "budget"]
    assert names[0] == "started"
    assert names[-1] == "finished"
    assert {"eval", "checkpoint"} <= set(names)
    started = next(e for e in events if e.event == "started")
    assert started["device"] == "cpu"
    assert started["precision"] == "fp32"
    assert started["counts"]["train"] > 0
    assert started["max_steps"] == 4
    steps = [e for e in events if e.event == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3, 4]
    assert all(math.isfinite(e["loss"]) for e in steps)
    evals = [e for e in events if e.event == "eval"]
    assert all(math.isfinite(e["eval_loss"]) for e in evals)
    assert len(evals) <= 5  # four scheduled evaluations at most, and the final one
    counts = started["counts"]
    assert counts["eval"] == min(counts["eval_available"], 32)  # the bounded eval sample
    assert counts["train_dropped"] == counts["eval_dropped"] == 0
    evaluating = [e for e in events if e.event == "progress" and e["stage"] == "evaluating"]
    assert evaluating, "evaluation reports its progress"
    assert evaluating[-1]["done"] == evaluating[-1]["total"] == counts["eval"]
    assert evaluating[-1]["message"] == f"evaluating {counts['eval']}/{counts['eval']} held-out" \
        " examples"
    if method != "sft":
        assert "rewards/chosen" in steps[-1].fields
        assert "rewards/margins" in steps[-1].fields
        assert 0.0 <= evals[-1]["eval_rewards/accuracies"] <= 1.0
        assert "check behaviour with an eval set" in events[-1]["note"]
    # The events go to the file only: a run never depends on its parent's pipe.
    assert '"event"' not in result.stdout
    assert_adapter_loads(run.dir.adapter, demo_model_dir)
    done = get_run(labeled, run.id)
    assert done.status == "completed"
    assert done.metrics["eval_loss"] > 0
    adapter = next(m for m in list_models(labeled, "adapter") if m.run_id == run.id)
    assert get_model(labeled, adapter.parent_id or "").kind == "base"
    assert not run.dir.pid_file.exists()


def assert_adapter_loads(adapter: Path, base_dir: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base_dir), adapter)
    lora_b = [p for name, p in model.named_parameters() if "lora_B" in name]
    assert lora_b
    assert any(torch.count_nonzero(p) > 0 for p in lora_b), "adapter never trained"


def test_cancel_then_resume_keeps_the_step_count(labeled: Store, data_paths: DataPaths,
                                                 demo_model_dir: Path) -> None:
    run = synthetic_run(labeled, data_paths, "sft", str(demo_model_dir), max_steps=400,
                        eval_steps=1000, save_steps=1000)
    first = start_next(labeled, data_paths)
    assert first is not None
    assert first.pid
    wait_for(lambda: any(e.event == "step" and e["step"] >= 3
                         for e in read_events(run.dir.events)))
    cancel_run(labeled, run.id)
    wait_for(lambda: sync_run(labeled, run.id).status != "running")
    assert get_run(labeled, run.id).status == "cancelled"
    cancelled = read_events(run.dir.events)[-1]
    assert cancelled.event == "cancelled"
    assert 3 <= cancelled["step"] < 400
    assert cancelled["checkpoint"].endswith(f"checkpoint-{cancelled['step']}")

    wait_for(lambda: not psutil.pid_exists(first.pid))
    resume_run(labeled, run.id)
    second = start_next(labeled, data_paths)
    assert second is not None
    assert second.pid
    wait_for(lambda: sync_run(labeled, run.id).status != "running", timeout=600)
    wait_for(lambda: not psutil.pid_exists(second.pid))
    assert get_run(labeled, run.id).status == "completed"
    events = read_events(run.dir.events)
    second_start = [e for e in events if e.event == "started"][-1]
    assert second_start["resumed_from"] == cancelled["step"]
    steps = [e["step"] for e in events if e.event == "step"]
    assert steps == list(range(1, 401)), "resume repeats or skips steps"
    assert events[-1].event == "finished"
    assert events[-1]["step"] == 400


def test_a_run_survives_its_launcher(labeled: Store, data_paths: DataPaths,
                                     demo_model_dir: Path) -> None:
    run = synthetic_run(labeled, data_paths, "dpo", str(demo_model_dir))
    # The launching process starts the run and exits at once, as the app does when closed.
    launcher = subprocess.run(
        [launch_command(run.run_dir)[0], "-c",
         "import sys; from studio.paths import DataPaths; from studio.db.store import Store;"
         " from studio.training.runs import start_next;"
         " p = DataPaths.at(sys.argv[1]); print(start_next(Store.open(p.db), p).pid)",
         str(data_paths.root)], cwd=REPO, capture_output=True, text=True, check=True)
    pid = int(launcher.stdout.strip())
    assert run.dir.read_pid() == pid
    wait_for(lambda: sync_run(labeled, run.id).status != "running", timeout=180)
    wait_for(lambda: not psutil.pid_exists(pid))
    assert get_run(labeled, run.id).status == "completed"
    assert read_events(run.dir.events)[-1].event == "finished"


def test_a_bad_run_fails_with_a_human_message(labeled: Store, data_paths: DataPaths,
                                              demo_model_dir: Path, tmp_path: Path) -> None:
    run = synthetic_run(labeled, data_paths, "kto", str(demo_model_dir))
    # The snapshot is frozen at creation; break the run's own copy the way a crash could.
    (run.dir.snapshot / "train.jsonl").write_text("", encoding="utf-8")
    result = run_backend(run, data_paths)
    assert result.returncode == 1
    failed = read_events(run.dir.events)[-1]
    assert failed.event == "failed"
    assert "no KTO training examples" in failed["message"]
    assert "Traceback" not in failed["message"]
    assert "Traceback" in run.dir.log.read_text()
    assert get_run(labeled, run.id).status == "failed"
    assert get_run(labeled, run.id).error == failed["message"]
