"""Training use cases: launch a run (snapshot → preflight → create → start), probe a GRPO
run's base model before launch, resume a run, and advance the queue when a run ends. The Train
page and ``tuning-studio train``/``runs`` call these, so both run one sequence.

The queue has one door: :func:`advance_queue`. Launch and resume go through it, the Train page
calls it when a run it shows has ended, and the CLI calls it for ``--detach`` and for a
foreground run (which claims its own run). It wraps :func:`studio.training.runs.start_next`,
the one implementation, which the training process also calls as it ends: a backend may not
import ``studio.app``, and the queue must advance when no app is open (a run started from the
CLI and left, or the app closed mid-run). The two sides cannot start two runs at once: the
claim is one SQL statement that only succeeds while no run is running.

GRPO prompt snapshots are named by their content (``snapshots/grpo-<hash>``, the snapshot id,
:func:`studio.training.grpo.prompt_snapshot`) on the Train page, in the probe and in the CLI
alike: a folder is written once and never rewritten, so a probe reading one while a launch
snapshots the same prompts reads a whole folder."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from studio.app.eval_matrix import starting_model_warning
from studio.app.train_budget import budget_checks
from studio.app.train_scope import default_scope, label_scope
from studio.data.snapshots import export_snapshot, load_manifest
from studio.db.store import Store
from studio.jobs.launch import spawn_detached
from studio.paths import DataPaths
from studio.training import runs as run_list
from studio.training.config import DATA_KIND, TrainConfig
from studio.training.grpo import prompt_snapshot
from studio.training.grpo_checks import registry_problems
from studio.training.grpo_probe import create_probe_job
from studio.training.preflight import Check, check_model, preflight
from studio.training.remembered import FILE_NAME as SETTINGS_FILE
from studio.training.remembered import remember

# Enough answers to tell "never passes" from "sometimes"; few enough for a minute on a CPU.
PROBE_PROMPTS = 6


@dataclass
class Launch:
    """The preflight checks, and the run (None when a check is an error: nothing was made)."""

    checks: list[Check]
    run: run_list.Run | None


def snapshot_labels(store: Store, paths: DataPaths, config: TrainConfig) -> TrainConfig:
    """The config with a fresh snapshot of the labels its method trains on, within its scope
    (``train_from``; empty: :func:`default_scope`, written into the config)."""
    kind = DATA_KIND[config.method]  # SimPO/ORPO train on DPO pairs
    if kind == "grpo":  # GRPO practises on prompts, chosen by tag or source
        snapshot = prompt_snapshot(store, config.prompts, paths.snapshots)
        return replace(config, snapshot_dir=str(snapshot.path))
    selector = config.train_from or default_scope(store, config.method)
    snapshot = export_snapshot(store, kind, paths.snapshots, scope=label_scope(store, selector),
                               named=True)
    return replace(config, snapshot_dir=str(snapshot.path), train_from=selector)


def scope_checks(config: TrainConfig) -> list[Check]:
    """What the run trains on and why: a note under the launch."""
    if config.method == "grpo" or not config.snapshot_dir:
        return []
    manifest = load_manifest(config.snapshot_dir)
    if "scope" not in manifest:  # a snapshot exported before scopes: it says nothing of one
        return []
    counts = manifest["counts"]
    selector = str(manifest["scope"])
    whose = {"mine": "your own labels (imported ones left out)",
             "all": "all labels, imported ones included"}.get(selector, f"labels on {selector!r}")
    return [Check("info", "scope", f"training on {counts['train']:,} examples from {whose};"
                  f" {counts['eval']:,} held out to measure the run")]


def grader_checks(store: Store, config: TrainConfig) -> list[Check]:
    """A GRPO judge grader's model, checked where the registry is (the store)."""
    if config.method != "grpo":
        return []
    return [Check("error", "config", f"{name}: {message}")
            for name, message in registry_problems(store, config.graders)]


def regression_checks(store: Store, config: TrainConfig) -> list[Check]:
    """A warning when the starting model is flagged worse than its own parent on a set."""
    warning = starting_model_warning(store, config.model)
    return [Check("warning", "model", warning)] if warning else []


def create_checked_run(store: Store, paths: DataPaths, config: TrainConfig) -> Launch:
    """Preflight the config (it names its snapshot); queue a run only when nothing is an error."""
    checks = preflight(config) + grader_checks(store, config) + regression_checks(store, config)
    if not any(check.level == "error" for check in checks):
        checks += scope_checks(config) + budget_checks(store, config)
    if any(check.level == "error" for check in checks):
        return Launch(checks, None)
    return Launch(checks, run_list.create_run(store, paths, config))


def launch_training(store: Store, paths: DataPaths, config: TrainConfig,
                    launcher: run_list.Launcher = spawn_detached) -> Launch:
    """The Train page's launch: snapshot the labels, check, queue, remember the settings and
    start the run if no other is training (else it starts when that one ends)."""
    launch = create_checked_run(store, paths, snapshot_labels(store, paths, config))
    if launch.run is None:
        return launch
    remember(paths.root / SETTINGS_FILE, config)
    advance_queue(store, paths, launcher)
    return Launch(launch.checks, run_list.get_run(store, launch.run.id))


@dataclass
class Probe:
    """GRPO's pre-flight probe, ready to run: its job folder (None when a check is an error)
    and how many prompts it samples."""

    checks: list[Check]
    job_dir: Path | None
    prompts: int = 0


def create_probe(store: Store, paths: DataPaths, config: TrainConfig,
                 prompts: int = PROBE_PROMPTS) -> Probe:
    """Write the job of GRPO's pre-flight probe (``backends.train_grpo_probe``) for ``config``.

    A config that names its snapshot (the CLI's: its run trains on exactly that) is probed as
    it is; the Train page's names none, so the chosen prompts are snapshotted now. Its outcome
    in words is :func:`studio.training.grpo_probe.probe_checks`.
    """
    # A missing model or judge fails here, not 8 s into the job.
    checks = check_model(config.model)[0] + grader_checks(store, config)
    if checks:
        return Probe(checks, None)
    if config.snapshot_dir:
        available = int(load_manifest(config.snapshot_dir)["counts"]["train"])
    else:
        snapshot = prompt_snapshot(store, config.prompts, paths.snapshots)
        config = replace(config, snapshot_dir=str(snapshot.path))
        available = snapshot.counts["train"]
    job = create_probe_job(paths.root / "jobs", config, prompts)
    return Probe([], job, min(prompts, available))


def resume_training(store: Store, paths: DataPaths, run_id: str,
                    launcher: run_list.Launcher = spawn_detached) -> run_list.Run:
    """Queue a cancelled or failed run again and start it if the machine is free."""
    run_list.resume_run(store, run_id)
    advance_queue(store, paths, launcher)
    return run_list.get_run(store, run_id)


def advance_queue(store: Store, paths: DataPaths,
                  launcher: run_list.Launcher = spawn_detached,
                  run_id: str | None = None) -> run_list.Run | None:
    """Record how the live runs ended and start the next queued run (the oldest, or
    ``run_id``: a foreground CLI run claims its own) if no run is training; returns the run
    started, or None. The training process does the same as it ends; this covers launch,
    resume, and a process killed before it could."""
    return run_list.start_next(store, paths, launcher, run_id)
