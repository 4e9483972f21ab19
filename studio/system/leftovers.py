"""Staging folders a killed process left behind.

Writers that must be all-or-nothing (bundle import, snapshots, GRPO prompt snapshots,
best-of-N pairs) stage into ``.<name>.<random>.partial`` next to their target and rename it
into place when complete; a failure or cancel removes it. A ``kill -9`` or a power cut leaves
it, and a bundle import's can hold gigabytes. The app removes the ones no process has
touched for :data:`STALE_AFTER_S` when it starts (a staging folder being written is touched
every few seconds; nothing the app stages takes hours without writing).
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from pathlib import Path

from studio.paths import DataPaths

log = logging.getLogger(__name__)

STALE_AFTER_S = 6 * 3600
STAGING = re.compile(r"^\..+\.partial$")  # tempfile.mkdtemp(prefix=".x.", suffix=".partial")


def _newest_mtime(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for item in folder.rglob("*"):
        try:
            newest = max(newest, item.lstat().st_mtime)
        except OSError:
            continue  # removed meanwhile: it is not newer than what is left
    return newest


def stale_staging(paths: DataPaths, now: float | None = None) -> list[Path]:
    """Staging folders under the data folder's top-level folders untouched for long."""
    now = time.time() if now is None else now
    found: list[Path] = []
    for parent in (paths.runs, paths.snapshots, paths.exports, paths.models):
        if not parent.is_dir():
            continue
        for child in parent.iterdir():
            if child.is_dir() and not child.is_symlink() and STAGING.match(child.name) \
                    and now - _newest_mtime(child) > STALE_AFTER_S:
                found.append(child)
    return sorted(found)


def remove_stale_staging(paths: DataPaths, now: float | None = None) -> list[Path]:
    """Remove what :func:`stale_staging` finds; returns what was removed."""
    removed = []
    for folder in stale_staging(paths, now):
        try:
            shutil.rmtree(folder)
        except OSError as error:  # a file still open elsewhere (Windows): try next start
            log.warning("could not remove the leftover %s: %s", folder, error)
            continue
        log.info("removed the leftover staging folder %s", folder)
        removed.append(folder)
    return removed
