"""Job configs are dataclasses saved as ``config.json`` in the job folder before launch."""

from __future__ import annotations

import json
from dataclasses import asdict, fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Config = TypeVar("Config", bound="DataclassInstance")


def save_config(config: Any, folder: Path) -> Path:
    if not is_dataclass(config) or isinstance(config, type):
        raise TypeError("job configs are dataclasses")
    path = folder / "config.json"
    path.write_text(json.dumps(asdict(config), indent=2))
    return path


def field_help(cls: type[DataclassInstance], name: str) -> str:
    """The ``metadata["help"]`` of a config dataclass's field: the one help text, shown as
    the dialogs' tooltips and the CLI's flag help."""
    for item in fields(cls):
        if item.name == name:
            return str(item.metadata.get("help", ""))
    raise KeyError(f"{cls.__name__} has no field {name!r}")


def load_config(cls: type[Config], folder: Path) -> Config:
    """The config in ``folder``; keys this version does not know are ignored."""
    data = json.loads((folder / "config.json").read_text())
    known = {f.name for f in fields(cls)}
    return cls(**{key: value for key, value in data.items() if key in known})
