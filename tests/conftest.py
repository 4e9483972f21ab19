"""Shared fixtures: a temporary data folder for every test, a real SQLite store, and a check
that no test leaves a thread or a child process running."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from pytestqt.qtbot import QtBot

from studio.db.store import Store
from studio.paths import DATA_DIR_ENV, DataPaths

# The tiers (see README "Tests"): a test is `real` when it loads SmolLM2 and `heavy` when it
# builds, trains or exports the tiny model. Marked here from the fixtures a test asks for, so a
# new test lands in the right tier without anyone remembering to mark it; `make test-fast`
# runs what is left.
_TIER_BY_FIXTURE = {
    "real_model_dir": "real", "real_gguf": "real",
    "demo_model_dir": "heavy", "demo_gguf": "heavy",
    "installed": "heavy",  # install.sh into a temporary prefix (about 2 minutes)
    "real_converter": "heavy",  # llama.cpp's converter unpacked from the sdist
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for tier in {_TIER_BY_FIXTURE[n] for n in names & _TIER_BY_FIXTURE.keys()}:
            item.add_marker(tier)
        if "real" in item.keywords and "heavy" not in item.keywords:
            item.add_marker("heavy")  # the fast tier leaves out both


# A wait's limit only matters when the test fails; under load (2 cores, a training run beside
# the suite) 5 s limits failed tests that were merely slow. Every qtbot wait gets at least
# this long; it costs nothing when the signal comes.
_WAIT_FLOOR_MS = int(os.environ.get("TUNING_STUDIO_TEST_WAIT_FLOOR_MS", "60000"))


def _generous(wait: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(wait)
    def wrapper(self: QtBot, *args: Any, timeout: int = 5000, **kwargs: Any) -> Any:
        if timeout and timeout > 0:
            timeout = max(timeout, _WAIT_FLOOR_MS)
        return wait(self, *args, timeout=timeout, **kwargs)
    return wrapper


for _name in ("waitSignal", "waitSignals", "waitUntil", "waitCallback"):
    setattr(QtBot, _name, _generous(getattr(QtBot, _name)))


@pytest.fixture(autouse=True)
def data_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataPaths:
    """Every test gets its own data folder; nothing touches the user's real one."""
    root = tmp_path / "data"
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    return DataPaths.at(root)


@pytest.fixture
def store(data_paths: DataPaths) -> Iterator[Store]:
    opened = Store.open(data_paths.db)
    yield opened
    opened.close()


@pytest.fixture(autouse=True)
def _no_leftover_threads_or_processes() -> Iterator[None]:
    threads_before = {t.ident for t in threading.enumerate()}
    yield
    me = psutil.Process()
    children = [c for c in me.children(recursive=True) if c.is_running()
                and c.status() != psutil.STATUS_ZOMBIE]
    threads = [t for t in threading.enumerate()
               if t.ident not in threads_before and t.is_alive() and not t.daemon]
    for child in children:
        child.kill()
    assert not children, f"the test left processes running: {children}"
    assert not threads, f"the test left threads running: {threads}"


@pytest.fixture(scope="session")
def demo_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random-init model with its offline tokenizer, built once per test run."""
    from backends.demo_model import build_demo_model

    return build_demo_model(tmp_path_factory.mktemp("demo-model"))


@pytest.fixture(scope="session")
def demo_gguf(demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo model as an F16 GGUF, converted once per test run by llama.cpp's converter."""
    import subprocess

    from studio.registry.converter import convert_command, converter_env, prepare_converter

    prepare_converter()
    out = tmp_path_factory.mktemp("demo-gguf") / "demo-f16.gguf"
    subprocess.run(convert_command(demo_model_dir, out, "f16"), env=converter_env(),
                   check=True, capture_output=True, timeout=300)
    return out


@pytest.fixture(scope="session")
def real_model_dir() -> Path:
    """SmolLM2-135M-Instruct as a Hugging Face folder (converted from its GGUF once, cached
    between runs). Treat it as read-only: copy it before changing anything in it."""
    from tests.real_model import smollm2_hf

    return smollm2_hf()


@pytest.fixture(scope="session")
def real_gguf() -> Path:
    """The original SmolLM2-135M-Instruct Q4_1 GGUF from the package registry (read-only)."""
    from tests.real_model import smollm2_gguf

    return smollm2_gguf()
