"""Import of datasets in the common fine-tuning formats, all-or-nothing."""

from studio.data.importing.importer import (
    ImportReport,
    ParsedFile,
    import_parsed,
    import_path,
    parse_path,
)
from studio.data.importing.shapes import SHAPES, Example

__all__ = ["SHAPES", "Example", "ImportReport", "ParsedFile", "import_parsed", "import_path",
           "parse_path"]
