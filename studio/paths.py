"""Where the app keeps its data and caches.

The data folder holds ``studio.db``, ``runs/``, ``models/``, ``exports/`` and ``snapshots/``.
``--data-dir`` or ``TUNING_STUDIO_DATA_DIR`` overrides it (tests always do). Caches that are
shared by every data folder on the machine, like llama.cpp's GGUF converter, live in the user
cache folder (``TUNING_STUDIO_CACHE_DIR`` overrides it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "tuning-studio"
DATA_DIR_ENV = "TUNING_STUDIO_DATA_DIR"
CACHE_DIR_ENV = "TUNING_STUDIO_CACHE_DIR"


def default_data_dir() -> Path:
    """The data folder: the environment override, else the platform's user data folder."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resources_dir() -> Path:
    """Bundled icons, styles, presets and starter data (a package beside ``studio``, so the
    same path works from a checkout and from an installed wheel)."""
    return Path(__file__).resolve().parent.parent / "resources"


def cache_dir() -> Path:
    """The machine-wide cache folder (converter, built demo model)."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class DataPaths:
    """The layout of one data folder. Creating it makes the folders it names."""

    root: Path

    @classmethod
    def at(cls, root: Path | str | None = None) -> DataPaths:
        paths = cls(Path(root).expanduser() if root is not None else default_data_dir())
        for folder in (paths.root, paths.runs, paths.models, paths.exports, paths.snapshots):
            folder.mkdir(parents=True, exist_ok=True)
        return paths

    @property
    def db(self) -> Path:
        return self.root / "studio.db"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def logs(self) -> Path:
        return self.root / "logs"
