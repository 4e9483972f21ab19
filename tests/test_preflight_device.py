"""Issue 11 item 6: pre-flight checks the chosen device against the machine; issue 26: and
QLoRA against the GPU and the bitsandbytes package it needs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from studio.db.store import Store
from studio.paths import DataPaths
from studio.system.hardware import Gpu, Hardware, NvidiaDriver
from studio.training.preflight import check_device, check_qlora

LINUX_CPU = Hardware("Linux", "x86_64")
MAC = Hardware("Darwin", "arm64", apple_chip="Apple M2")
LINUX_GPU = Hardware("Linux", "x86_64", NvidiaDriver("550.1", (12, 4), (Gpu("RTX 4090"),)))


@pytest.mark.parametrize(("device", "hardware", "needle"), [
    ("mps", LINUX_CPU, "needs an Apple Silicon Mac; this is CPU only (Linux x86_64)"),
    ("mps", LINUX_GPU, "Pick auto or cuda"),
    ("cuda", LINUX_CPU, "needs an NVIDIA GPU"),
    ("cuda", MAC, "Pick auto or mps"),
])
def test_a_device_the_machine_lacks_is_an_error(device: str, hardware: Hardware,
                                                needle: str) -> None:
    (check,) = check_device(device, hardware)
    assert check.level == "error"
    assert needle in check.message


@pytest.mark.parametrize(("device", "hardware"), [
    ("auto", LINUX_CPU), ("cpu", MAC), ("mps", MAC), ("cuda", LINUX_GPU)])
def test_a_device_the_machine_has_passes(device: str, hardware: Hardware) -> None:
    assert check_device(device, hardware) == []


def test_preflight_reports_the_device(tmp_path: Path) -> None:
    from dataclasses import replace

    from studio.training.config import TrainConfig
    from studio.training.preflight import preflight

    config = replace(TrainConfig.for_method("sft", str(tmp_path / "model")), device="mps")
    checks = preflight(config, tmp_path / "snapshot", memory=False, hardware=LINUX_CPU)
    assert any(c.topic == "device" and c.level == "error" for c in checks)


def test_a_run_that_failed_before_a_checkpoint_offers_no_resume(tmp_path: Path) -> None:
    from studio.training.runs import Run

    def run(status: str) -> Run:
        return Run(id="r", method="sft", status=status, config={}, run_dir=tmp_path,
                   snapshot_id=None, base_model="m", parent_model_id=None, pid=None,
                   metrics={}, error=None, created_at="", started_at=None, finished_at=None)

    assert not run("failed").offers_resume
    assert run("cancelled").offers_resume
    checkpoint = tmp_path / "checkpoints" / "checkpoint-2"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text("{}")
    assert run("failed").offers_resume


def test_qlora_is_refused_where_bitsandbytes_is_missing(store: Store, data_paths: DataPaths,
                                                        demo_model_dir: Path) -> None:
    """This machine has no bitsandbytes (nor a GPU): pre-flight says so before any launch,
    naming the package and the command that installs it, instead of an ImportError later."""
    import importlib.util

    from studio.data.snapshots import export_snapshot
    from studio.training.config import TrainConfig
    from studio.training.preflight import preflight

    assert importlib.util.find_spec("bitsandbytes") is None
    for i in range(6):
        prompt_id = store.add_prompt(f"Question {i}?", source="t")
        store.label_gold(prompt_id, f"Answer {i}.", "me")
    snapshot = export_snapshot(store, "sft", data_paths.root / "snap", 0.2)
    config = TrainConfig.for_method("sft", str(demo_model_dir), adapter="qlora")
    errors = [c.message for c in preflight(config, snapshot.path, memory=False,
                                           hardware=LINUX_GPU) if c.level == "error"]
    assert errors == [
        "adapter qlora needs the bitsandbytes package, which is not installed for"
        f" {sys.executable}. Install the CUDA extras (pip install bitsandbytes liger-kernel,"
        " or re-run the installer on this machine), or use adapter lora."]
    on_cpu = [c.message for c in preflight(config, snapshot.path, memory=False,
                                           hardware=LINUX_CPU) if c.level == "error"]
    assert len(on_cpu) == 2
    assert "needs an NVIDIA GPU (CUDA); this is CPU only" in on_cpu[0]
    lora = TrainConfig.for_method("sft", str(demo_model_dir))
    assert not [c for c in preflight(lora, snapshot.path, memory=False, hardware=LINUX_CPU)
                if c.level == "error"]


def test_qlora_passes_with_a_gpu_and_the_package() -> None:
    assert check_qlora(LINUX_GPU, lambda name: True) == []
