"""Import files of prompts, answers and judgements: parse (shapes, examples), then import in
one transaction with progress. What the Import dialog and ``tuning-studio import`` share.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.data.importing import SHAPES, Example, ImportReport, ParsedFile, import_path, parse_path
from studio.data.importing.progress import ImportRate
from studio.data.importing.shapes import SHAPE_NAMES

__all__ = [
    "SHAPES",
    "SHAPE_NAMES",
    "Example",
    "ImportRate",
    "ImportReport",
    "ParsedFile",
    "import_path",
    "parse_path",
]
