"""What the check pass of an import leaves: the file read and checked, nothing written yet.

Its own module because both passes use it: the check (``importer``) builds it and the write
(``writer``) reads the file again from it, and neither may import the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.data.importing.shapes import Example
from studio.errors import ImportFormatError, RowProblem


@dataclass
class ParsedFile:
    """An input read and checked, nothing written yet: what the import dialog previews."""

    path: Path
    kind: str
    shape: str | None
    examples: list[tuple[str, Example]] = field(default_factory=list)  # the first PREVIEW
    example_count: int = 0  # every row that maps to an example of the file's shape
    problems: list[RowProblem] = field(default_factory=list)
    problem_count: int = 0
    rows: int = 0
    # auto mode: where each detected shape was seen (first MAX_PROBLEMS rows of each)
    seen: dict[str, list[tuple[int, str, set[str]]]] = field(default_factory=dict)
    seen_count: dict[str, int] = field(default_factory=dict)
    example_shapes: list[str] = field(default_factory=list)  # of each preview example
    shape_examples: dict[str, int] = field(default_factory=dict)  # examples per shape
    problem_rows: list[int] = field(default_factory=list)  # row number of each problem
    # (name, size, mtime) of each file read, taken before reading: the same signature later
    # means the checked file is still the one to write (the write need not check it again).
    signature: tuple[tuple[str, int, int], ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem_count == 0 and self.example_count > 0

    def error(self) -> ImportFormatError:
        return ImportFormatError(self.path, self.problems, self.problem_count)

    def unchanged(self) -> bool:
        """Whether the input on disk is still the one that was checked."""
        return bool(self.signature) and file_signature(self.path) == self.signature


def input_files(path: Path) -> list[Path]:
    """The file an import reads, or each file of a folder it reads, in a fixed order."""
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]


def file_signature(path: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of each of :func:`input_files`."""
    try:
        return tuple((str(f), (st := f.stat()).st_size, st.st_mtime_ns)
                     for f in input_files(path))
    except OSError:
        return ()
