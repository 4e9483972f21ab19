"""What an operation changed: the one broadcast every view filters (Anki's ``OpChanges``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Changes:
    """What a store operation changed. Empty id sets mean "some, not known which"."""

    prompts: bool = False
    responses: bool = False
    labels: bool = False
    runs: bool = False
    models: bool = False
    snapshots: bool = False
    prompt_ids: frozenset[int] = field(default_factory=frozenset)
    origin: Any = None  # the page that made the change, so it can skip its own refresh

    @classmethod
    def everything(cls, origin: Any = None) -> Changes:
        return cls(True, True, True, True, True, True, origin=origin)

    @property
    def data(self) -> bool:
        """Prompts, responses or labels: what the Data and Label pages show."""
        return self.prompts or self.responses or self.labels
