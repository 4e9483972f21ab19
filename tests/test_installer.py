"""The installers: fast checks of the scripts' logic (dry run, refusals, launcher template), and
a real install of a copy of this checkout into a temporary prefix (CPU path, pip's caches)."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
INSTALL_SH = REPO / "installers" / "install.sh"
INSTALL_PS1 = REPO / "installers" / "install.ps1"
STEPS = ("Checking Python", "Detecting hardware", "Checking free disk space",
         "Creating the environment", "Installing torch", "Installing llama-cpp-python",
         "Installing Tuning Studio", "Preparing llama.cpp's GGUF converter", "Adding the launcher",
         "Checking the installation")
COMPILERS = {"cc", "gcc", "c++", "g++", "clang", "clang++", "cmake"}
# The base interpreter: the installer builds its own environment from it.
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)


def installer_env(root: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        # Empty: pip's configured index, which on this machine resolves torch to a local CPU wheel.
        "TUNING_STUDIO_TORCH_INDEX_URL": "",
        "TUNING_STUDIO_DATA_DIR": str(root / "data"),
        "TUNING_STUDIO_CACHE_DIR": str(root / "cache"),
    })
    env.update(extra)
    return env


def layout(root: Path) -> list[str]:
    return ["--prefix", str(root / "prefix"), "--applications-dir", str(root / "apps"),
            "--bin-dir", str(root / "bin"), "--python", BASE_PYTHON]


def run_sh(script: Path, args: list[str], env: dict[str, str],
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_script_syntax() -> None:
    subprocess.run(["bash", "-n", str(INSTALL_SH)], check=True)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck() -> None:
    done = subprocess.run(["shellcheck", str(INSTALL_SH)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout


def test_dry_run_prints_the_plan_and_changes_nothing(tmp_path: Path) -> None:
    done = run_sh(INSTALL_SH, [*layout(tmp_path), "--dry-run"], installer_env(tmp_path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for number, step in enumerate(STEPS, 1):
        assert f"[{number}/10] {step}" in out
    assert "dry run: nothing is changed" in out
    assert "torch: torch==2.13.0" in out
    assert 'CMAKE_ARGS="-DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF' in out
    assert "would create it" in out
    assert not (tmp_path / "prefix").exists()
    assert not (tmp_path / "apps").exists()


def test_too_old_python_is_refused_with_a_fix(tmp_path: Path) -> None:
    old = tmp_path / "python3.9"
    old.write_text('#!/bin/sh\necho 3.9.18\n', encoding="utf-8")
    old.chmod(0o755)
    args = [*layout(tmp_path)[:-1], str(old), "--dry-run"]
    done = run_sh(INSTALL_SH, args, installer_env(tmp_path))
    assert done.returncode == 1
    assert "needs Python 3.10 or newer" in done.stderr
    assert "3.9.18" in done.stderr
    assert "Install a newer one:" in done.stderr


def test_short_disk_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    env = installer_env(tmp_path, TUNING_STUDIO_MIN_FREE_GB="1000000")
    done = run_sh(INSTALL_SH, layout(tmp_path), env)
    assert done.returncode == 1
    assert "not enough disk space" in done.stderr
    assert "1000000 GiB needed" in done.stderr
    assert "--prefix" in done.stderr
    assert not (tmp_path / "prefix").exists()


def test_missing_compiler_names_the_package(tmp_path: Path) -> None:
    """A PATH with every program of this one except the compilers and cmake."""
    bare = tmp_path / "path"
    bare.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        for program in Path(folder).glob("*") if Path(folder).is_dir() else ():
            target = bare / program.name
            if program.name not in COMPILERS and not target.exists() and os.access(program,
                                                                                   os.X_OK):
                target.symlink_to(program)
    env = installer_env(tmp_path, PATH=str(bare))
    done = run_sh(INSTALL_SH, [*layout(tmp_path), "--dry-run"], env)
    assert done.returncode == 1
    assert "build tools are missing" in done.stderr
    release = Path("/etc/os-release").read_text(encoding="utf-8")
    if "debian" in release or "ubuntu" in release:
        assert "sudo apt-get install build-essential" in done.stderr


def render_desktop_template(exe: str, icon: str) -> str:
    text = (REPO / "resources" / "tuning-studio.desktop").read_text(encoding="utf-8")
    return text.replace("@EXEC@", exe).replace("@TRYEXEC@", exe).replace("@ICON@", icon)


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate is missing (apt-get install desktop-file-utils)")
def test_desktop_template_is_valid(tmp_path: Path) -> None:
    entry = tmp_path / "tuning-studio.desktop"
    entry.write_text(render_desktop_template("/opt/ts/bin/tuning-studio", "/opt/ts/icon.png"),
                     encoding="utf-8")
    done = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout
    assert done.stdout == ""


def test_icons() -> None:
    icons = REPO / "resources" / "icons"
    png = (icons / "tuning-studio.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (256, 256)
    assert "<svg" in (icons / "tuning-studio.svg").read_text(encoding="utf-8")
    ico = (icons / "tuning-studio.ico").read_bytes()
    assert ico[:6] == struct.pack("<HHH", 0, 1, 1)
    assert ico[22:] == png
    icns = (icons / "tuning-studio.icns").read_bytes()
    assert icns[:4] == b"icns"
    assert struct.unpack(">I", icns[4:8])[0] == len(icns)


def test_windows_script_mirrors_the_shell_script() -> None:
    """pwsh is not installable here; check what can be checked without it."""
    text = INSTALL_PS1.read_text(encoding="utf-8")
    for parameter in ("Prefix", "StartMenuDir", "Python", "DryRun", "Force", "Uninstall",
                      "Purge"):
        assert re.search(rf"\${parameter}\b", text), parameter
    defined = set(re.findall(r"^function ([A-Za-z-]+)", text, re.MULTILINE))
    for name in defined:
        assert len(re.findall(rf"\b{name}\b", text)) > 1, f"{name} is never called"
    for step in ("Find-Python", "Get-Hardware", "Test-Disk", "New-Venv", "Install-Torch",
                 "Install-Llama", "Install-App", "Initialize-Converter", "Add-Shortcut",
                 "Invoke-Doctor"):
        assert re.search(rf"^{step}$", text, re.MULTILINE), step
    code = re.sub(r"<#.*?#>", "", text, flags=re.DOTALL)
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("#"))
    code = re.sub(r'"(?:[^"`]|`.)*"|\'[^\']*\'', '""', code)  # strings may hold braces
    assert code.count("{") == code.count("}")
    assert code.count("(") == code.count(")")


@pytest.mark.skipif(shutil.which("pwsh") is None, reason="PowerShell (pwsh) is not installed")
def test_windows_script_parses() -> None:
    command = ("$errors = $null; [System.Management.Automation.Language.Parser]::ParseFile("
               f"'{INSTALL_PS1}', [ref]$null, [ref]$errors) | Out-Null; "
               "if ($errors) { $errors; exit 1 }")
    subprocess.run(["pwsh", "-NoProfile", "-Command", command], check=True)


# --- a real install ---------------------------------------------------------------------------
GRAB = """
import sys, time
from PySide6.QtGui import QGuiApplication
app = QGuiApplication(sys.argv[:1])
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    image = app.primaryScreen().grabWindow(0).toImage()
    colours = {image.pixel(x, y) for x in range(0, image.width(), 23)
               for y in range(0, image.height(), 23)}
    if len(colours) > 8:  # more than the empty root window: the app has painted
        time.sleep(1.5)
        app.primaryScreen().grabWindow(0).save(sys.argv[1])
        print(len(colours))
        sys.exit(0)
    time.sleep(0.25)
sys.exit("no window appeared within 60 s")
"""


def llama_wheel_cached() -> bool:
    done = subprocess.run([sys.executable, "-m", "pip", "cache", "list", "llama_cpp_python"],
                          capture_output=True, text=True, check=False)
    return "llama_cpp_python" in done.stdout


def tree_state(*roots: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file and link under ``roots``."""
    state = {}
    for root in roots:
        for path in [root, *root.rglob("*")]:
            info = path.lstat()
            state[str(path)] = (info.st_size, info.st_mtime_ns)
    return state


class Installed:
    def __init__(self, root: Path, first: subprocess.CompletedProcess[str], seconds: float):
        self.root, self.first, self.seconds = root, first, seconds
        self.venv = root / "prefix" / "venv"
        self.desktop = root / "apps" / "tuning-studio.desktop"
        self.env = installer_env(root)

    def sh(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return run_sh(self.root / "repo" / "installers" / "install.sh",
                      [*layout(self.root), *args], self.env, timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """install.sh run once into a temporary prefix, from a frozen copy of this checkout."""
    if not llama_wheel_cached():
        pytest.skip("llama-cpp-python is not in pip's wheel cache (run `make setup` first; "
                    "building it here would take 6 minutes)")
    root = tmp_path_factory.mktemp("install")
    (root / "repo").mkdir()
    for item in ("pyproject.toml", "README.md", "studio", "backends", "ui", "resources",
                 "installers"):
        source = REPO / item
        if source.is_dir():
            shutil.copytree(source, root / "repo" / item,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, root / "repo" / item)
    (root / "data").mkdir()
    (root / "data" / "keep-me.txt").write_text("the user's own file\n", encoding="utf-8")
    result = Installed(root, subprocess.CompletedProcess([], 0), 0.0)
    start = time.monotonic()
    result.first = result.sh(timeout=900)
    result.seconds = time.monotonic() - start
    assert result.first.returncode == 0, result.first.stdout + result.first.stderr
    return result


def test_install_runs_every_step_with_its_time(installed: Installed) -> None:
    out = installed.first.stdout
    for number, step in enumerate(STEPS, 1):
        assert f"[{number}/10] {step}" in out
    assert re.search(r"Done in \d", out)
    assert "Tuning Studio: all checks passed." in out
    assert (installed.venv / "bin" / "tuning-studio").exists()
    assert (installed.root / "bin" / "tuning-studio").resolve() == (
        installed.venv / "bin" / "tuning-studio").resolve()


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="desktop-file-validate is missing (apt-get install desktop-file-utils)")
def test_installed_launcher_is_valid(installed: Installed) -> None:
    done = subprocess.run(["desktop-file-validate", str(installed.desktop)], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout
    text = installed.desktop.read_text(encoding="utf-8")
    icon = re.search(r"^Icon=(.+)$", text, re.MULTILINE)
    assert icon is not None
    assert Path(icon.group(1)).is_file()


def test_installed_doctor_reports_a_healthy_cpu_setup(installed: Installed) -> None:
    from studio.cli.main import make_parser

    commands = next(a for a in make_parser()._actions if a.dest == "command").choices or {}
    if "doctor" in commands:
        command = [str(installed.venv / "bin" / "tuning-studio"), "doctor"]
    else:  # until studio/cli.py adds the hook, the same report through its own module
        command = [str(installed.venv / "bin" / "python"), "-m", "studio.cli.doctor"]
    done = subprocess.run(command, env=installed.env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Tuning Studio: all checks passed." in done.stdout
    assert re.search(r"ok +torch +2\.\d+\.\d+\S*, CPU", done.stdout)
    assert re.search(r"ok +llama\.cpp +llama-cpp-python [\d.]+, backends: CPU", done.stdout)
    assert str(installed.root / "cache") in done.stdout  # the converter went to the test cache


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run is missing (apt xvfb)")
def test_app_starts_from_the_launcher_under_xvfb(installed: Installed, tmp_path: Path) -> None:
    text = installed.desktop.read_text(encoding="utf-8")
    match = re.search(r"^Exec=(.+)$", text, re.MULTILINE)
    assert match is not None
    grab = tmp_path / "grab.py"
    grab.write_text(GRAB, encoding="utf-8")
    shot = tmp_path / "app.png"
    python = installed.venv / "bin" / "python"
    script = (f"{match.group(1)} > {tmp_path}/app.log 2>&1 & app=$!; "
              f"{python} {grab} {shot}; status=$?; "
              "kill -0 $app || status=3; kill $app; wait $app; exit $status")
    # A real window on the X server: the suite's offscreen platform must not leak in.
    env = {key: value for key, value in installed.env.items() if key != "QT_QPA_PLATFORM"}
    done = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", "bash", "-c", script],
                          env=env, capture_output=True, text=True, timeout=180, check=False)
    log = (tmp_path / "app.log").read_text(encoding="utf-8")
    assert done.returncode == 0, done.stdout + done.stderr + log
    assert shot.stat().st_size > 10_000


def test_second_run_is_fast_and_changes_nothing(installed: Installed) -> None:
    roots = [installed.root / "prefix", installed.root / "apps", installed.root / "bin",
             installed.root / "cache"]
    before = tree_state(*roots)
    start = time.monotonic()
    done = installed.sh()
    seconds = time.monotonic() - start
    assert done.returncode == 0, done.stdout + done.stderr
    for phrase in ("already there", "already installed", "already built", "already up to date",
                   "already prepared", "(unchanged)"):
        assert phrase in done.stdout
    assert tree_state(*roots) == before
    assert seconds < min(60, installed.seconds / 2), (seconds, installed.seconds)


def test_uninstall_keeps_the_data_folder(installed: Installed) -> None:
    # Last in this file: it removes what the tests above use.
    done = installed.sh("--uninstall")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not installed.venv.exists()
    assert not installed.desktop.exists()
    assert not (installed.root / "bin" / "tuning-studio").is_symlink()
    assert (installed.root / "data" / "keep-me.txt").is_file()
    assert "kept your data" in done.stdout
    purge = installed.sh("--purge")
    assert purge.returncode == 0, purge.stdout + purge.stderr
    assert not (installed.root / "data").exists()
    assert not (installed.root / "cache").exists()
