"""A small real filesystem to fill, for the disk-full probes (no tests here)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def mounted_small_disk(mount: Path, size_mb: int) -> Iterator[Path]:
    """A ``size_mb`` tmpfs mounted at ``mount`` (made if missing), unmounted after (needs
    root; the test is skipped without it)."""
    mount.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs",
                           str(mount)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill ({done.stderr.strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill_disk(disk: Path, leave: int) -> Path:
    """Fill ``disk`` to the last byte, then give back exactly ``leave`` bytes."""
    filler = disk / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass  # the disk is full now
    os.truncate(filler, max(filler.stat().st_size - leave, 0))
    return filler
