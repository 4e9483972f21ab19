"""Command-line flags made from a config dataclass's own fields, in the shape of TRL's
``HfArgumentParser``: ``--FIELD VALUE`` for every field, with the field's type, default and
``metadata["help"]`` (the same text the Train page shows as its tooltips). So ``--help``
lists every setting and cannot drift from the config.

A flag is the same as ``--set FIELD=VALUE``: both feed one list of overrides, parsed and
checked by the config itself."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields
from typing import Any

PREFIX = "config_field:"  # the namespace key of a field flag, apart from the command's own


def add_config_flags(parser: argparse.ArgumentParser, config: type[Any], title: str,
                     skip: frozenset[str] = frozenset()) -> None:
    """One ``--FIELD`` per field of ``config`` except ``skip`` (fields a command flag sets)."""
    group = parser.add_argument_group(title)
    for spec in fields(config):
        if spec.name in skip:
            continue
        default = "" if spec.default is MISSING else f"; default: {spec.default!r}"
        type_name = spec.type if isinstance(spec.type, str) else spec.type.__name__
        text = f"{spec.metadata.get('help', '')} ({type_name}{default})"
        # argparse formats help with %: a literal percent sign must be doubled
        group.add_argument(f"--{spec.name}", dest=PREFIX + spec.name, metavar="VALUE",
                           default=None, help=text.replace("%", "%%"))


def config_overrides(args: argparse.Namespace) -> list[str]:
    """The field flags given, as ``FIELD=VALUE`` items like ``--set``'s."""
    return [f"{key.removeprefix(PREFIX)}={value}" for key, value in vars(args).items()
            if key.startswith(PREFIX) and value is not None]
