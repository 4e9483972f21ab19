"""Family 5: runs and writes recover, and say why they stopped: damaged checkpoints are set
aside for the newest intact one; a full disk ends in "the disk is full (N MB free on ...)",
with partial output removed and the database unchanged."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from backends.checkpoints import resumable_checkpoint
from studio.data.importing.importer import import_path
from studio.data.snapshots import export_snapshot
from studio.errors import DiskFullError
from studio.labels.store import Store


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs, mounted for the test and removed after it (needs root)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill ({done.stderr.strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass  # the disk is full now: give back exactly ``leave`` bytes
    os.truncate(filler, max(filler.stat().st_size - leave, 0))
    return filler


def _rows(path: Path, count: int) -> Path:
    path.write_text("".join(json.dumps({"prompt": f"question {i} " + "x" * 400,
                                        "completion": f"answer {i} " + "y" * 400}) + "\n"
                            for i in range(count)))
    return path


def test_import_on_a_full_disk_says_so_and_stores_nothing(
        small_disk: Path, tmp_path: Path, lost_writes: Callable[[int], None]) -> None:
    store = Store.open(small_disk / "studio.db")
    kept = store.label_gold(store.add_prompt("before"), "confirmed", "me")
    filler = _fill(small_disk, leave=64 * 1024)
    with pytest.raises(DiskFullError, match=r"the disk is full \(\d+ MB free on .*small-disk"):
        import_path(store, _rows(tmp_path / "big.jsonl", 3000))
    assert store.counts()["prompts"] == 1
    lost_writes(0 if store.label(kept.id).value == "gold" else 1)
    filler.unlink()
    assert import_path(store, _rows(tmp_path / "small.jsonl", 20)).prompts_added == 20
    store.close()


def test_snapshot_export_on_a_full_disk_leaves_nothing_behind(
        store: Store, small_disk: Path) -> None:
    prompt = store.add_prompt("p")
    store.label_gold(prompt, "g" * 200_000, "me")
    _fill(small_disk, leave=16 * 1024)
    with pytest.raises(DiskFullError, match=r"the disk is full \(\d+ MB free"):
        export_snapshot(store, "sft", small_disk / "snap")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
    assert store.db.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 0


def _checkpoint(root: Path, step: int, damage: str | None = None) -> Path:
    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    state = json.dumps({"global_step": step, "log_history": []})
    (folder / "trainer_state.json").write_text(state[:10] if damage == "state" else state)
    weights = folder / "adapter_model.safetensors"
    save_file({"lora_A": np.ones((64, 64), dtype=np.float32)}, str(weights))
    if damage == "weights":
        weights.write_bytes(weights.read_bytes()[:2000])
    if damage == "header":
        weights.write_bytes(b"\xff" * 16)
    return folder


@pytest.mark.parametrize("damage", ["state", "weights", "header", "missing weights"])
def test_resume_falls_back_to_the_newest_intact_checkpoint(tmp_path: Path, damage: str) -> None:
    _checkpoint(tmp_path, 10)
    _checkpoint(tmp_path, 20)
    broken = _checkpoint(tmp_path, 30, damage)
    if damage == "missing weights":
        (broken / "adapter_model.safetensors").unlink()
    chosen, skipped = resumable_checkpoint(tmp_path)
    assert chosen == tmp_path / "checkpoint-20"
    assert len(skipped) == 1
    assert skipped[0].startswith("checkpoint-30 is damaged")
    assert (tmp_path / "checkpoint-30.broken").is_dir()
    assert resumable_checkpoint(tmp_path) == (chosen, [])  # set aside once, then ignored


def test_no_intact_checkpoint_starts_from_zero(tmp_path: Path) -> None:
    _checkpoint(tmp_path, 5, "state")
    assert resumable_checkpoint(tmp_path)[0] is None
