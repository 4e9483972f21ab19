"""Print a hash of the app's sources, so the installers reinstall it only when it changed.

Standard library only: the installers run it with the system Python.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

FOLDERS = ("studio", "backends", "ui", "resources")


def source_hash(root: Path) -> str:
    digest = hashlib.sha256()
    files = [root / "pyproject.toml"]
    for folder in FOLDERS:
        files += sorted(
            p
            for p in (root / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        )
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


if __name__ == "__main__":
    sys.stdout.write(source_hash(Path(sys.argv[1])) + "\n")
