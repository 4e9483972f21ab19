"""sqlite-utils loads without pandas and numpy (0.5 s of the GUI's start-up), and both stay
importable afterwards for the code that needs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=True)
    return done.stdout.strip()


def test_the_store_loads_without_pandas_and_numpy() -> None:
    out = _run("import sys, studio.db.store;"
               " print(sorted(m for m in ('pandas', 'numpy') if m in sys.modules))")
    assert out == "[]"


def test_numpy_and_pandas_still_import_afterwards() -> None:
    out = _run("import studio.db.store, numpy, pandas; print(numpy.__name__, pandas.__name__)")
    assert out == "numpy pandas"
