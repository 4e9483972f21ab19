"""The app log: Python logging, uncaught exceptions and fatal crashes all go to one file.

A segfault in the GUI process used to leave nothing but a kernel line ("segfault at 0 ip
0000000000000000"); with :mod:`faulthandler` writing to the log, every crash leaves the stack
of each thread.
"""

from __future__ import annotations

import faulthandler
import logging
import sys
from pathlib import Path
from types import TracebackType
from typing import TextIO

log = logging.getLogger("tuning-studio")
_stream: TextIO | None = None  # kept open for the process's life: faulthandler writes to it


def install_crash_log(logs_dir: Path) -> Path:
    """Send logging, uncaught exceptions and fatal-error stacks to ``logs_dir/app.log``."""
    global _stream
    logs_dir.mkdir(parents=True, exist_ok=True)
    path = logs_dir / "app.log"
    if _stream is None:
        _stream = path.open("a", encoding="utf-8", buffering=1)
        handler = logging.StreamHandler(_stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.INFO)
    faulthandler.enable(file=_stream, all_threads=True)
    sys.excepthook = _log_uncaught
    return path


def _log_uncaught(kind: type[BaseException], error: BaseException,
                  trace: TracebackType | None) -> None:
    log.critical("Uncaught exception", exc_info=(kind, error, trace))
    sys.__excepthook__(kind, error, trace)
