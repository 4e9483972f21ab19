"""DPO and KTO runs on the real SmolLM2-135M-Instruct in the default suite (a few steps with
short sequences, through the run queue): the run trains on every labelled example (none
dropped for length), reports its reward metrics, and registers a loadable adapter. Whether the
behaviour moves is the slow test_real_efficacy_preference.py's job."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from studio.db.store import Store
from studio.events import read_events
from studio.paths import DataPaths
from tests.real_rule_project import Project, default_config
from tests.rule_task import label, split

# A real 135M model on CPU: tens of seconds per run on an idle machine, more on a busy one.
pytestmark = pytest.mark.timeout(900)


@pytest.mark.parametrize("method", ["dpo", "kto"])
def test_a_short_run_on_the_real_model(method: str, real_model_dir: Path,
                                       tmp_path: Path) -> None:
    paths = DataPaths.at(tmp_path / "data")
    project = Project(paths, Store.open(paths.db))
    try:
        label(project.store, split()[0][:12])
        config = default_config(method, real_model_dir, max_steps=2, max_length=96,
                                batch_size=4, eval_steps=2, eval_sample=4)
        run, adapter = project.train(config, project.snapshot(method, method))
    finally:
        project.store.close()
    events = read_events(run.run_dir / "events.jsonl")
    # a CPU run may time one step for its budget before its started event
    counts = next(e for e in events if e.event == "started")["counts"]
    assert counts["train"] > 0
    assert counts["train_dropped"] == 0  # the rule task's prompts fit in 96 tokens
    steps = [e for e in events if e.event == "step"]
    assert [e["step"] for e in steps] == [1, 2]
    assert all(math.isfinite(e["loss"]) for e in steps)
    assert any(key.startswith("rewards/") or key.startswith("kl") for key in steps[-1].fields)
    assert events[-1].event == "finished"
    assert Path(adapter.path, "adapter_model.safetensors").is_file()
