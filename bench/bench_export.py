"""Export wall time per step (merge, convert, self-check, each quantization).

    python bench/bench_export.py ADAPTER_DIR [--quant Q8_0 --quant Q4_K_M] [--out DIR]

Runs the real export job through the launcher and times each step from its progress events.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

from studio.events import Event
from studio.jobs.launch import run_foreground
from studio.registry.export_config import create_export_job


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("adapter", type=Path)
    parser.add_argument("--quant", action="append", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-export-")) / "job"
    job = create_export_job(out.parent, out=out, adapter=args.adapter, lora_gguf=True,
                            quants=args.quant or ["Q8_0", "Q4_K_M"])
    started = time.time()
    events: list[Event] = []
    last = run_foreground("export", job, events.append)
    if last is None or last.event != "finished":
        raise SystemExit(f"the export did not finish: {last}")
    marks = [(e.get("message", e.event), e.t) for e in events]
    print(f"process start → first event: {marks[0][1] - started:6.2f} s (imports)")
    for (label, t0), (_, t1) in itertools.pairwise(marks):
        print(f"{t1 - t0:6.2f} s  {label}")
    print(f"{time.time() - started:6.2f} s  total wall time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
