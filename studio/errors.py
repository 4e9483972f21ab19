"""Named failures of the domain. The UI shows ``str(error)``; each message says what to fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class StudioError(Exception):
    """Base of every failure the domain reports to a person."""


class NotFoundError(StudioError):
    """A prompt, response, label, snapshot, run or model id that does not exist."""


class InvalidLabelError(StudioError):
    """A label that cannot be stored as given (unknown value, responses of other prompts...)."""


@dataclass
class RowProblem:
    """One bad row of an input file: where it is, which field, and what was expected."""

    location: str
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.location}, field '{self.field}'" if self.field else self.location
        return printable(f"{where}: {self.message}")


def printable(text: str) -> str:
    """Text from an input file made safe to show: control characters (terminal escape
    sequences among them) are written as escapes instead of being echoed raw."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


class ImportFormatError(StudioError):
    """An input file that cannot be imported. Nothing from it was stored."""

    def __init__(self, path: Path | str, problems: list[RowProblem], total: int | None = None):
        self.path = Path(path)
        self.problems = problems
        self.total = total if total is not None else len(problems)
        first = problems[0] if problems else RowProblem("file", None, "unreadable")
        more = f" (and {self.total - 1} more problems)" if self.total > 1 else ""
        super().__init__(f"{self.path.name}: {first}{more}. Nothing was imported.")


class ImportCancelledError(StudioError):
    """The person cancelled an import; the database is unchanged."""


class HubUnavailableError(StudioError):
    """A Hugging Face hub id was given but the hub cannot be reached (offline, unknown id)."""


class EmptyDatasetError(StudioError):
    """An export that would contain no examples."""


class StoreBusyError(StudioError):
    """Another process held the database's write lock for longer than a person would wait."""


class DiskFullError(StudioError):
    """A write ran out of disk space; the partial output was removed."""

    @classmethod
    def at(cls, path: Path | str, doing: str) -> DiskFullError:
        import shutil  # only needed on this rare path

        probe = Path(path)
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        free_mb = shutil.disk_usage(probe).free / 2**20
        return cls(f"the disk is full ({free_mb:.0f} MB free on {probe}) while {doing}; free"
                   " some space and try again. The partial output was removed.")
