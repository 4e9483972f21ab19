"""sqlite-utils, imported without its optional pandas and numpy support.

When pandas and numpy are installed, ``sqlite_utils.db`` imports both at import time, only to
map their scalar types to column types when it infers a new table's schema from values. The
store never does that: its tables come from migrations and its values are plain Python. Here
pandas is installed (``datasets`` needs it), and that optional import was about 0.5 s of the
GUI's start-up before its window showed. So when neither is imported yet, both are hidden while
sqlite-utils loads; a process that already imported them (a training backend) gets
sqlite-utils' full support. Import sqlite-utils' names from here.
"""

from __future__ import annotations

import sys

OPTIONAL = ("pandas", "numpy")


def _import_without_optional() -> None:
    hidden = [name for name in OPTIONAL if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # "import pandas" -> ImportError
    try:
        import sqlite_utils.db  # noqa: F401  (cached in sys.modules for the imports below)
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


_import_without_optional()

from sqlite_utils import Database  # noqa: E402
from sqlite_utils.db import NotFoundError  # noqa: E402
from sqlite_utils.migrations import Migrations  # noqa: E402

__all__ = ["Database", "Migrations", "NotFoundError"]
