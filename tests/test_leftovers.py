"""Staging folders a killed process left behind are removed at start, and nothing else."""

from __future__ import annotations

import os
import time

from studio.paths import DataPaths
from studio.system.leftovers import STALE_AFTER_S, remove_stale_staging, stale_staging


def _age(path: os.PathLike[str], seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_only_old_untouched_staging_goes(data_paths: DataPaths) -> None:
    old = data_paths.runs / ".import-abc123.partial"
    (old / "adapter").mkdir(parents=True)
    (old / "adapter" / "weights.bin").write_bytes(b"x" * 1024)
    for path in (old / "adapter" / "weights.bin", old / "adapter", old):
        _age(path, STALE_AFTER_S + 60)
    busy = data_paths.snapshots / ".grpo-1.k2j.partial"  # old folder, a file written just now
    busy.mkdir()
    (busy / "prompts.jsonl").write_text("{}\n")
    _age(busy, STALE_AFTER_S + 60)
    young = data_paths.snapshots / ".sft-2.q9.partial"
    young.mkdir()
    kept = data_paths.runs / "20261207-sft-1"  # a run folder is never staging
    kept.mkdir()
    _age(kept, STALE_AFTER_S + 60)
    assert stale_staging(data_paths) == [old]
    assert remove_stale_staging(data_paths) == [old]
    assert not old.exists()
    assert busy.exists()
    assert young.exists()
    assert kept.exists()
    assert remove_stale_staging(data_paths) == []
