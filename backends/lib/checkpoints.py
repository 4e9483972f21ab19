"""Pick the checkpoint to resume from: the newest one that is intact.

A run killed while saving, or a disk that filled up, leaves a checkpoint with a truncated
``trainer_state.json`` or weights file; resuming from it fails with a raw JSONDecodeError or
safetensors error every time. Each candidate is checked cheaply (JSON parses, the safetensors
header's offsets fit in the file, torch's zip files have their central directory), and a broken
one is renamed ``checkpoint-N.broken`` so nothing picks it up again.
"""

from __future__ import annotations

import json
import struct
import zipfile
from pathlib import Path

WEIGHTS = ("adapter_model.safetensors", "model.safetensors")
TORCH_ZIPS = ("optimizer.pt", "scheduler.pt")


def checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be resumed from, or None when it looks intact."""
    try:
        state = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return f"trainer_state.json is unreadable ({type(error).__name__})"
    if not isinstance(state, dict) or "global_step" not in state:
        return "trainer_state.json has no global_step"
    weights = [folder / name for name in WEIGHTS if (folder / name).exists()]
    weights += sorted(folder.glob("model-*-of-*.safetensors"))
    if not weights:
        return "it has no safetensors weights"
    for path in weights:
        problem = _safetensors_problem(path)
        if problem:
            return f"{path.name}: {problem}"
    for name in TORCH_ZIPS:
        if (folder / name).exists() and not zipfile.is_zipfile(folder / name):
            return f"{name} is truncated"
    return None


def _safetensors_problem(path: Path) -> str | None:
    size = path.stat().st_size
    try:
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > size - 8:
                return "the header is cut off"
            header = json.loads(handle.read(length))
    except (OSError, struct.error, UnicodeDecodeError, json.JSONDecodeError):
        return "the header is unreadable"
    ends = [entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"]
    if 8 + length + max(ends, default=0) > size:
        return "the tensor data is cut off"
    return None


def resumable_checkpoint(checkpoints: Path) -> tuple[Path | None, list[str]]:
    """The newest intact ``checkpoint-N`` and one line per broken one that was set aside."""
    found = sorted((p for p in checkpoints.glob("checkpoint-*")
                    if p.is_dir() and p.name.split("-")[-1].isdigit()),
                   key=lambda p: int(p.name.split("-")[-1]), reverse=True)
    skipped: list[str] = []
    for folder in found:
        problem = checkpoint_problem(folder)
        if problem is None:
            return folder, skipped
        folder.rename(folder.with_name(folder.name + ".broken"))
        skipped.append(f"{folder.name} is damaged ({problem}); set aside as"
                       f" {folder.name}.broken")
    return None, skipped


def unfinished_saves(checkpoints: Path, adapter: Path) -> list[Path]:
    """What a run that failed while saving leaves half-written: its adapter folder (written
    only at the end, so never complete when the run failed) and every damaged checkpoint."""
    found = [p for p in checkpoints.glob("checkpoint-*")
             if p.is_dir() and p.name.split("-")[-1].isdigit() and checkpoint_problem(p)]
    return [adapter, *found]
