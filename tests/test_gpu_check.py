"""The prepared GPU check (bench/gpu_check.sh) in its CPU smoke mode: the same code path as on a
GPU, tiny shapes and 1-2 steps, so the script cannot rot before a GPU is at hand (issue 26).

It runs the wrapper as a person would, and reads the one results file it writes: a header with
the date and command, one JSON line per section, then the summary with the anchors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SECTIONS = ["environment", "models", "train", "liger", "memory", "decode", "rule_task"]


@pytest.mark.heavy  # trains three methods on tiny shapes: about a minute and a half
def test_the_cpu_smoke_run_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "gpu-check.txt"
    started = time.monotonic()
    done = subprocess.run([str(REPO / "bench" / "gpu_check.sh"), "--cpu-smoke", "--out",
                           str(out), "--work", str(tmp_path / "work")], cwd=REPO,
                          # this interpreter: a worktree or CI may hold the venv elsewhere
                          env={**os.environ, "TS_PYTHON": sys.executable},
                          capture_output=True, text=True, timeout=400, check=False)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    text = out.read_text()
    header = text.split("\n{", 1)[0]
    assert header.startswith("# gpu_check 20")
    assert "# command: " in header
    assert "--cpu-smoke" in header
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    sections = {line["section"]: line for line in lines}
    assert list(sections) == SECTIONS, f"{list(sections)} after {took:.0f} s"
    for name in ("environment", "models", "train"):
        assert sections[name]["ok"], sections[name]
    assert sections["environment"]["versions"]["trl"]
    runs = {run["name"]: run for run in sections["train"]["runs"]}
    for method in ("sft", "dpo", "grpo"):
        for side in ("studio", "plain"):
            run = runs[f"tiny-a/{method}/{side}"]
            assert run["ok"], run
            assert run["tokens_per_s"] > 0
            assert run["peak_mb"] > 0
        assert runs[f"tiny-a/{method}/studio"]["estimate_mb"] > 0
    # Parts this machine cannot run are recorded with their reason, and the next part runs.
    assert "bf16 training needs a GPU" in runs["tiny-a/sft/studio-bf16"]["error"]
    assert "bitsandbytes" in runs["tiny-a/sft/studio-qlora"]["error"]
    for name in ("liger", "memory", "decode", "rule_task"):
        line = sections[name]
        assert line["ok"] or line.get("skipped") == "the time budget is spent", line
    summary = text.split("# summary", 1)[1]
    assert "tiny-a/sft" in summary
    assert "TinyLlama-1.1B: 1.55x" in summary
    assert "Liger kernels on Llama-3-8B" in summary
    assert "# verdict:" in summary
