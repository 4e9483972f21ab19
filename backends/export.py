"""Export a tuned model for llama.cpp: merge → GGUF F16 → self-check → quantize → Modelfile.

    python -m backends.export --job-dir DIR

``DIR/config.json`` is a ``studio.registry.export_config.ExportConfig`` (absolute paths). The
job folder receives ``events.jsonl``, ``export.log``, ``merged/``, ``model-<QUANT>.gguf`` with
a ``.Modelfile`` each, ``adapter-F16.gguf`` and ``selfcheck.json``. With a ``db`` in the config
the results are registered in the model registry in one transaction at the very end, so a
cancelled (stop file or SIGTERM: ``backends.lib.jobs.StopFlag``) or failed export registers
nothing; its unfinished files are removed.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import time
from pathlib import Path

from backends.lib.export_merge import ExportCancelledError, ExportError
from backends.lib.jobs import StopFlag, disk_full_failure, make_job_parser, run_job
from studio.events import EventWriter
from studio.registry.export_config import ExportConfig

# What the job folder holds before the export writes anything.
JOB_FILES = frozenset({"config.json", "events.jsonl", "export.log", "pid", "stop"})


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser(__doc__.splitlines()[0])


def main(args: argparse.Namespace) -> int:
    return run_job(args, "export", export_job)


def export_job(out: Path, events: EventWriter, flag: StopFlag) -> None:
    """The job's work. A failure is reported by :func:`backends.lib.jobs.run_job`, after what the
    export wrote is removed (a full disk measured first, so its message says what is free)."""
    from backends.lib.export_pipeline import run_export

    config = ExportConfig.load(out)
    if config.out_path.resolve() != out:
        raise ExportError(f"{out / 'config.json'}: field 'out_dir' must be this job folder")
    if any(p.name not in JOB_FILES for p in out.iterdir()):
        raise ExportError(f"{out} already holds export files; choose a new job folder")
    logging.basicConfig(filename=out / "export.log", level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    started = time.monotonic()
    try:
        result = run_export(config, events, lambda: flag.stop)
    except ExportCancelledError:
        _discard(out)
        events.emit("cancelled", message="the export was cancelled; nothing was registered")
        return
    except Exception as error:
        # A full disk reads the same whichever library hit it (torch, safetensors, the
        # converter).
        full = disk_full_failure(error, out, "writing the export", lambda: _outputs(out))
        _discard(out)
        if full is not None:
            raise full from error
        raise
    events.emit("finished", wall_s=round(time.monotonic() - started, 2), **result)


def _outputs(out: Path) -> list[Path]:
    """What the export wrote: everything but the job's own files (config, events, logs)."""
    return [p for p in out.iterdir() if p.name not in JOB_FILES and p.suffix != ".log"]


def _discard(out: Path) -> None:
    """Remove what an unfinished export wrote; the job's own files (config, events, logs) stay
    so the UI and the CLI can still read how it ended."""
    for path in _outputs(out):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
