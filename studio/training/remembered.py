"""The Train form's last settings, per method, kept across restarts.

The form forgot everything on restart. Each launch stores its config under its method in one
small JSON file in the data folder; the form offers it again the next time that method (and
preset) is picked. A file from an older version that no longer parses is ignored, not fatal.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.training.config import ConfigError, TrainConfig

FILE_NAME = "train-settings.json"


def remember(path: Path, config: TrainConfig) -> None:
    """Store ``config`` as the last settings of its method (written whole, then renamed)."""
    saved = _read(path)
    # The snapshot and the database belong to one run folder, not to the settings.
    saved[config.method] = {k: v for k, v in config.to_dict().items()
                            if k not in ("snapshot_dir", "db")}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(saved, indent=2), encoding="utf-8")
    partial.replace(path)


def recall(path: Path, method: str, preset: str) -> TrainConfig | None:
    """The last settings launched with ``method`` and ``preset``, if any still parse."""
    data = _read(path).get(method)
    if not isinstance(data, dict) or data.get("preset") != preset:
        return None
    try:
        return TrainConfig.from_dict(data, where=str(path))
    except (ConfigError, TypeError):
        return None


def _read(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
