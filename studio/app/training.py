"""Training use cases: launch a run (snapshot → preflight → create → start), resume one, and
advance the queue when a run ends. The Train page and ``tuning-studio train``/``runs`` call
these, so both run one sequence."""

from __future__ import annotations

from dataclasses import dataclass, replace

from studio.data.snapshots import export_snapshot
from studio.jobs.launch import spawn_detached
from studio.labels.store import Store
from studio.paths import DataPaths
from studio.training import runs as registry
from studio.training.config import DATA_KIND, TrainConfig
from studio.training.grpo import export_prompt_snapshot
from studio.training.grpo_checks import registry_problems
from studio.training.preflight import Check, preflight
from studio.training.remembered import FILE_NAME as SETTINGS_FILE
from studio.training.remembered import remember


@dataclass
class Launch:
    """The preflight checks, and the run (None when a check is an error: nothing was made)."""

    checks: list[Check]
    run: registry.Run | None


def snapshot_labels(store: Store, paths: DataPaths, config: TrainConfig) -> TrainConfig:
    """The config with a fresh snapshot of the labels its method trains on."""
    kind = DATA_KIND[config.method]  # SimPO/ORPO train on DPO pairs
    if kind == "grpo":  # GRPO practises on prompts, chosen by tag or source
        snapshot = export_prompt_snapshot(store, config.prompts, paths.snapshots / "grpo-latest")
    else:
        snapshot = export_snapshot(store, kind, paths.snapshots / f"{kind}-latest")
    return replace(config, snapshot_dir=str(snapshot.path))


def create_checked_run(store: Store, paths: DataPaths, config: TrainConfig) -> Launch:
    """Preflight the config (it names its snapshot); queue a run only when nothing is an error."""
    checks = preflight(config)
    if config.method == "grpo":  # a judge grader's model is checked where the registry is
        checks += [Check("error", "config", f"{name}: {message}")
                   for name, message in registry_problems(store, config.graders)]
    if any(check.level == "error" for check in checks):
        return Launch(checks, None)
    return Launch(checks, registry.create_run(store, paths, config))


def launch_training(store: Store, paths: DataPaths, config: TrainConfig,
                    launcher: registry.Launcher = spawn_detached) -> Launch:
    """The Train page's launch: snapshot the labels, check, queue, remember the settings and
    start the run if no other is training (else it starts when that one ends)."""
    launch = create_checked_run(store, paths, snapshot_labels(store, paths, config))
    if launch.run is None:
        return launch
    remember(paths.root / SETTINGS_FILE, config)
    registry.start_next(store, paths, launcher)
    return Launch(launch.checks, registry.get_run(store, launch.run.id))


def resume_training(store: Store, paths: DataPaths, run_id: str,
                    launcher: registry.Launcher = spawn_detached) -> registry.Run:
    """Queue a cancelled or failed run again and start it if the machine is free."""
    registry.resume_run(store, run_id)
    registry.start_next(store, paths, launcher)
    return registry.get_run(store, run_id)


def advance_queue(store: Store, paths: DataPaths,
                  launcher: registry.Launcher = spawn_detached) -> registry.Run | None:
    """After a run ended (or on re-attach): record how the live runs ended and start the next
    queued run. The training process does this itself as it ends; this covers a process that
    was killed before it could."""
    return registry.start_next(store, paths, launcher)
