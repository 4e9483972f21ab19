"""Run bundles: a training run packed to leave this machine, and brought back when done.

``write_bundle`` writes a self-contained folder::

    bundle.json            what the run is (id, method, base model, lineage, versions)
    run/config.json        the TrainConfig, as the app would launch it
    run/snapshot/          the frozen dataset snapshot
    src/studio, src/backends   the same backend code the app runs (python -m backends.train)
    requirements.txt       pinned versions of the training stack
    accelerate/*.yaml      accelerate configs: DDP (multi-GPU), FSDP (model > one GPU), CPU
    launch_accelerate.sh   accelerate launch ... -m backends.train --job-dir run
    launch_torchrun.sh     torchrun ... -m backends.train --job-dir run
    slurm.sbatch, skypilot.yaml   templates that call the launch scripts

The launch scripts honour ``NUM_PROCESSES`` (default: every GPU, else 1), ``CPU=1`` (gloo on
CPU) and ``MODEL`` (where the base model is on that machine). The run writes the same
``events.jsonl``, checkpoints and adapter as a local run; ``import_bundle`` registers it.
No scheduler of our own: accelerate, torchrun, Slurm and SkyPilot do the launching.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from studio import __version__
from studio.db.store import Store
from studio.errors import printable
from studio.registry.locate import is_hub_id
from studio.training.bundle_files import BundleError, read_small, valid_name
from studio.training.config import METHODS, TrainConfig
from studio.training.runs import Run, RunDir, get_run

__all__ = ["BundleError", "describe", "read_bundle", "requirements", "write_bundle"]

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
PINNED = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "sentencepiece",
          "protobuf", "safetensors", "tokenizers", "psutil", "sqlite-utils", "platformdirs")
TEMPLATES = Path(__file__).resolve().parent / "bundle_templates"
SCRIPTS = ("launch_accelerate.sh", "launch_torchrun.sh", "slurm.sbatch", "skypilot.yaml",
           "accelerate/ddp.yaml", "accelerate/fsdp.yaml", "accelerate/cpu.yaml", "README.md")


def write_bundle(store: Store, run_id: str, out: Path) -> Path:
    """Write run ``run_id`` as a bundle into ``out`` (which must be new or empty)."""
    run = get_run(store, run_id)
    out = Path(out).expanduser().resolve()
    if out.exists() and any(out.iterdir()):
        raise BundleError(f"{out} is not empty: pick a new folder for the bundle")
    if not run.dir.snapshot.is_dir():
        raise BundleError(f"run {run_id} has no frozen snapshot in {run.dir.snapshot}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "run").mkdir()
    shutil.copytree(run.dir.snapshot, out / "run" / "snapshot")
    config = run.train_config
    # No database travels: the machine that trains the bundle has no run list of ours.
    bundled = TrainConfig.from_dict({**config.to_dict(), "snapshot_dir": "snapshot", "db": ""})
    bundled.save(out / "run" / "config.json")
    _copy_sources(out / "src")
    (out / "requirements.txt").write_text(requirements())
    (out / "bundle.json").write_text(json.dumps(describe(run, config), indent=2))
    for name in SCRIPTS:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(TEMPLATES / name.replace("/", "_"), target)
        if name.endswith(".sh"):
            target.chmod(0o755)
    return out


def describe(run: Run, config: TrainConfig) -> dict[str, Any]:
    """bundle.json: enough to register the result back under the right parent model."""
    model = config.model
    return {
        "format": 1, "run_id": run.id, "method": run.method, "studio_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "base_model": model, "parent_model_id": run.parent_model_id,
        "snapshot_id": run.snapshot_id,
        "model_source": "hub" if is_hub_id(model) else "folder",
        "model_note": (f"the hub id {model} is downloaded on the training machine"
                       if is_hub_id(model) else
                       f"copy the model folder {model} to the training machine and run the"
                       " launch script with MODEL=/path/to/that/copy"),
        "init_adapter": config.init_adapter,
    }


def requirements() -> str:
    """Pinned versions of the installed training stack (what this run was tested with)."""
    lines = ["# The training stack this bundle was written with (pip install -r this file)."]
    for name in PINNED:
        try:
            lines.append(f"{name}=={metadata.version(name).split('+')[0]}")
        except metadata.PackageNotFoundError:
            continue
    return "\n".join(lines) + "\n"


def _copy_sources(target: Path) -> None:
    """The studio and backends packages as Python sources: the bundle runs the same code."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("studio", "backends"):
        shutil.copytree(PACKAGE_ROOT / package, target / package, ignore=ignore)


def read_bundle(folder: Path) -> tuple[dict[str, Any], RunDir]:
    """bundle.json and the run folder of a bundle, checked: every name the bundle gives is in
    a fixed alphabet (they become folder names and database ids here)."""
    folder = Path(folder).expanduser().resolve()
    manifest = folder / "bundle.json"
    if not manifest.exists() and not manifest.is_symlink():
        raise BundleError(f"{folder} is not a run bundle (no bundle.json)")
    try:
        info = json.loads(read_small(manifest, str(manifest)))
    except json.JSONDecodeError as error:
        raise BundleError(f"{manifest}, line {error.lineno}: not valid JSON") from None
    except RecursionError:
        raise BundleError(f"{manifest}: the JSON is nested too deeply") from None
    if not isinstance(info, dict) or "run_id" not in info or "method" not in info:
        raise BundleError(f"{manifest}: fields 'run_id' and 'method' are required")
    problem = _manifest_problem(info)
    if problem is not None:
        raise BundleError(printable(f"{manifest}, field {problem}; nothing was imported"))
    run = RunDir(folder / "run")
    if not run.config.is_file():
        raise BundleError(f"{run.config} is missing: the bundle's run folder is incomplete")
    return info, run


def _manifest_problem(info: dict[str, Any]) -> str | None:
    """The first field of bundle.json that cannot be trusted as it is, with why."""
    if info["method"] not in METHODS:
        return f"'method': {str(info['method'])[:80]!r} is not one of {', '.join(METHODS)}"
    if not valid_name(info["run_id"]):
        return f"'run_id': {str(info['run_id'])[:80]!r} is not a run id (letters, digits, ._+=-)"
    for key in ("parent_model_id", "snapshot_id"):
        if info.get(key) is not None and not valid_name(info[key]):
            return f"'{key}': {str(info[key])[:80]!r} is not an id (letters, digits, ._+=-)"
    base = info.get("base_model")
    if base is not None and (not isinstance(base, str) or len(base) > 4096 or "\0" in base):
        return "'base_model': not a model folder or a hub id"
    return None
