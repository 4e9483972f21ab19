"""Start-up time: launch -> first shown window, and launch -> first label ready.

    heavy python bench/bench_startup.py [--runs 7] [--prompts 2000] [--out FILE]
    heavy python bench/bench_startup.py --breakdown     # one launch, step by step

Every run launches fresh processes (``bench/startup_probe.py``) in turns, so the baseline and
the app see the same machine load:

* ``bare``: QApplication + an empty QMainWindow, the floor that Qt itself costs here;
* ``app, empty folder``: the real entry point on an empty data folder (what a first start
  shows: the Label page's empty state, then the first-start offer);
* ``app, N prompts``: a data folder with N prompts and two responses each, a fifth of them
  labeled (the Label page draws an item).

"Shown" is the first Expose of the window titled "Tuning Studio" plus one event-loop turn
(Qt has painted it); "label ready" is the Label page showing an item, or its empty state with
the final text, plus one turn. Times run from just before the process is spawned. Under
Xvfb when it is installed (a real X server: mapping, expose and paint as on a desktop),
else Qt's offscreen platform. One warm-up round is dropped (disk cache, font cache).

Targets (issue 27): window <= 1.5 s, first label ready <= 2 s on an idle 2-core machine; the
ratio to the bare window is the number that travels between machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "bench" / "startup_probe.py"
sys.path.insert(0, str(ROOT / "bench"))

from bench_label import build_database  # noqa: E402  (a sibling benchmark's fixture)

WINDOW_TARGET_S, READY_TARGET_S = 1.5, 2.0


def start_display() -> tuple[subprocess.Popen[bytes] | None, dict[str, str]]:
    """(the Xvfb process or None, the environment for the probes)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        return None, {**env, "QT_QPA_PLATFORM": "offscreen"}
    read, write = os.pipe()
    server = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", "1920x1080x24",
                               "-nolisten", "tcp"], pass_fds=(write,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        display = pipe.readline().strip()
    return server, {**env, "DISPLAY": f":{display}", "QT_QPA_PLATFORM": "xcb"}


def launch(kind: str, data_dir: Path, env: dict[str, str], settings: Path,
           breakdown: bool = False) -> dict[str, Any]:
    settings.unlink(missing_ok=True)  # a first start: no remembered page or geometry
    env = {**env, "TUNING_STUDIO_SETTINGS": str(settings)}
    command = [sys.executable, str(PROBE), kind, str(data_dir)]
    command += ["--breakdown"] if breakdown else []
    start = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} probe failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    if "error" in result:
        raise RuntimeError(f"{kind} probe: {result['error']}")
    result["launch"] = start
    result["window_s"] = result["t_shown"] - start
    result["main_s"] = result["t_main"] - start  # interpreter start-up
    if "t_ready" in result:
        result["ready_s"] = result["t_ready"] - start
    return result


def summary(values: list[float]) -> str:
    return (f"median {statistics.median(values):.3f} s  (min {min(values):.3f}, max"
            f" {max(values):.3f}, n={len(values)})")


def machine() -> str:
    cpu = "unknown CPU"
    info = Path("/proc/cpuinfo")
    if info.exists():
        names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    memory = ""
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GiB RAM"
    return f"{os.cpu_count()} cores, {cpu}{memory}, {platform.platform()}, Python" \
           f" {platform.python_version()}"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_rounds(runs: int, folders: dict[str, Path], env: dict[str, str],
               tmp: Path) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {"bare": [], **{name: [] for name in folders}}
    for round_ in range(runs + 1):  # round 0 warms caches and is dropped
        for name in results:
            kind = "bare" if name == "bare" else "app"
            folder = folders.get(name, tmp)
            result = launch(kind, folder, env, tmp / f"{name}.ini")
            if round_ > 0:
                results[name].append(result)
    return results


def report(results: dict[str, list[dict[str, Any]]], header: list[str]) -> list[str]:
    lines = list(header)
    bare_times = [r["window_s"] for r in results["bare"]]
    bare = statistics.median(bare_times)
    lines.append(f"bare PySide6 window shown:        {summary(bare_times)}")
    for name, rows in results.items():
        if name == "bare":
            continue
        window = [r["window_s"] for r in rows]
        ready = [r["ready_s"] for r in rows]
        lines.append(f"{name}: window shown  {summary(window)}  ratio to bare"
                     f" {statistics.median(window) / bare:.2f}x  target <= {WINDOW_TARGET_S} s")
        lines.append(f"{name}: label ready   {summary(ready)}  ratio to bare"
                     f" {statistics.median(ready) / bare:.2f}x  target <= {READY_TARGET_S} s")
        modules = sorted({m for r in rows for m in r.get("modules_at_show", [])})
        lines.append(f"{name}: watched modules imported before the window showed:"
                     f" {', '.join(modules) or 'none'}")
    interp = statistics.median(r["main_s"] for rows in results.values() for r in rows)
    lines.append(f"python interpreter start (launch -> probe's first line): median {interp:.3f} s")
    return lines


def breakdown(folder: Path, env: dict[str, str], tmp: Path) -> list[str]:
    result = launch("app", folder, env, tmp / "breakdown.ini", breakdown=True)
    start, lines, previous = result["launch"], [], result["launch"]
    lines.append("   at s   step s  step")
    for name, at in result["marks"]:
        lines.append(f"{at - start:7.3f}  {at - previous:7.3f}  {name}")
        previous = at
    lines.append(f"watched modules imported before the window showed:"
                 f" {', '.join(result.get('modules_at_show', [])) or 'none'}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--prompts", type=int, default=2000)
    parser.add_argument("--breakdown", action="store_true",
                        help="one launch on the seeded folder, every start-up step timed")
    parser.add_argument("--out", type=Path, help="also write the report (and raw JSON) here")
    args = parser.parse_args()
    server, env = start_display()
    try:
        with tempfile.TemporaryDirectory() as name:
            tmp = Path(name)
            seeded = build_database(tmp / "seeded", args.prompts, 2)
            empty = tmp / "empty"
            empty.mkdir()
            header = [f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
                      f"machine: {machine()}",
                      f"platform: QT_QPA_PLATFORM={env['QT_QPA_PLATFORM']}"
                      f"{' (Xvfb)' if server else ''}",
                      f"command: {' '.join([Path(sys.executable).name, *sys.argv])}",
                      f"load average before (1/5/15 min): {load()}"]
            if args.breakdown:
                lines = header + breakdown(seeded, env, tmp)
                raw: Any = None
            else:
                folders = {"app, empty folder": empty,
                           f"app, {args.prompts} prompts": seeded}
                raw = run_rounds(args.runs, folders, env, tmp)
                lines = report(raw, header)
            lines.append(f"load average after (1/5/15 min): {load()}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a", encoding="utf-8") as out:
            out.write(text)
            if raw is not None:
                out.write("raw: " + json.dumps(raw) + "\n")
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
