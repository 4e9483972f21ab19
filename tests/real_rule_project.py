"""A project on the real model as a person builds it (no tests here): the rule task labeled in a
store, snapshotted, and trained through the run queue (``studio.training.runs``), with the
finished adapter registered by the run itself. Shared by the real-model efficacy tests."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.evaluation.report import wilson
from studio.events import Event
from studio.jobs.launch import follow, log_tail, run_foreground, spawn
from studio.paths import DataPaths
from studio.registry.converter import prepare_converter
from studio.registry.export_config import create_export_job
from studio.registry.models import ModelEntry, list_models
from studio.training.config import TrainConfig, field_defaults
from studio.training.runs import Run, create_run, start_next, sync_run
from tests.rule_task import passes

# What a user could set on the Train page beside the default preset: the rule task's
# examples are under 80 tokens, and a short max_length keeps the test's CPU cost down.
SHORT = {"max_length": 128}


@dataclass
class Project:
    paths: DataPaths
    store: Store

    def snapshot(self, kind: str, name: str) -> Path:
        return export_snapshot(self.store, kind, self.paths.root / "snapshots" / name,
                               eval_fraction=0.0).path

    def train(self, config: TrainConfig, snapshot: Path) -> tuple[Run, ModelEntry]:
        """Queue the run, let the queue start it, follow its events to the end; returns the
        completed run and the adapter it registered."""
        run = create_run(self.store, self.paths, config, snapshot)
        children: list[subprocess.Popen[bytes]] = []

        def launch(module: str, job_dir: Path) -> int:
            children.append(spawn(module, job_dir))
            return children[-1].pid

        started = start_next(self.store, self.paths, launch)
        assert started is not None
        assert started.id == run.id
        events: list[Event] = []
        follow(run.run_dir, children[0], events.append)
        done = sync_run(self.store, run.id)
        assert done.status == "completed", log_tail(run.run_dir, "train", 40)
        (adapter,) = [m for m in list_models(self.store, "adapter") if m.run_id == run.id]
        return done, adapter


def default_config(method: str, model: Path, **overrides: Any) -> TrainConfig:
    """The config a user gets by picking the method and nothing else (the default preset)."""
    preset = field_defaults()["preset"]
    return TrainConfig.for_method(method, str(model), preset, **{**SHORT, **overrides})


def export_q8(project: Project, adapter: ModelEntry) -> Path:
    """The adapter merged and exported to a Q8_0 GGUF by the export job (self-check on)."""
    prepare_converter()
    job = create_export_job(project.paths.exports, adapter=adapter.path, quants=["Q8_0"],
                            selfcheck_tokens=8)
    last = run_foreground("export", job, lambda event: None)
    assert last is not None, log_tail(job, "export", 40)
    assert last.event == "finished", log_tail(job, "export", 40)
    (q8,) = [o for o in last["outputs"] if o["quant"] == "Q8_0"]
    return Path(q8["path"])


def pass_text(replies: list[str]) -> tuple[int, str]:
    """(passes, "k/n (95% CI low-high)") of replies to the held-out questions."""
    passed = sum(passes(r) for r in replies)
    interval = wilson(passed, len(replies))
    return passed, f"{passed}/{len(replies)} (95% CI {interval.low:.2f}-{interval.high:.2f})"
