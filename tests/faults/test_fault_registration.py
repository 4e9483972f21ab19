"""Family 8: add-model and training treat a GGUF and its chat template as the chat worker does.
A hostile header gets the same clean message from the one reader with limits (add-model, the
GGUF list, the chat worker), never a ZeroDivisionError, MemoryError or RecursionError; a
template the chat worker refuses is refused at registration; training renders the template
with the chat worker's limits, so an endless one fails the run at once."""

from __future__ import annotations

import json
import re
import shutil
import struct
import time
from pathlib import Path

import psutil
import pytest
from hostile_gguf import rewrite
from test_fault_chat import HOSTILE, TEMPLATE

from backends.lib.export_gguf_file import read_gguf
from studio.cli.main import main
from studio.db.store import Store
from studio.events import read_events
from studio.jobs.launch import run_foreground
from studio.paths import DataPaths
from studio.registry.gguf_import import create_import_job
from studio.registry.gguf_info import GGUFInfoError, read_gguf_info
from studio.registry.models import add_base_model, list_models
from studio.training.config import TrainConfig
from studio.training.runs import create_run, start_next, sync_run

STRING, ARRAY, UINT32 = 8, 9, 4


def _string(text: bytes) -> bytes:
    return struct.pack("<Q", len(text)) + text


def _kv(key: str, kind: int, payload: bytes) -> bytes:
    return _string(key.encode()) + struct.pack("<I", kind) + payload


def _gguf(path: Path, kvs: list[bytes], tensors: list[bytes] = (), n_kv: int | None = None,
          n_tensors: int | None = None) -> Path:
    arch = _kv("general.architecture", STRING, _string(b"llama"))
    body = [arch, *kvs]
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors) if n_tensors is None else n_tensors,
                                 len(body) if n_kv is None else n_kv)
    path.write_bytes(head + b"".join(body) + b"".join(tensors) + b"\0" * 64)
    return path


def _tensor(dims: list[int], n_dims: int | None = None) -> bytes:
    return (_string(b"w") + struct.pack("<I", len(dims) if n_dims is None else n_dims)
            + struct.pack(f"<{len(dims)}Q", *dims) + struct.pack("<IQ", 0, 0))


def _nested(depth: int) -> bytes:
    return struct.pack("<IQ", ARRAY, 1) * depth + struct.pack("<IQ", UINT32, 0)


HEADERS = {
    # case: (file builder, expected text of the message)
    "string of 2^62 bytes": (lambda p: _gguf(p, [_kv("x", STRING, struct.pack("<Q", 2**62))]),
                             "claims a string of"),
    "2^32-1 tensor dimensions": (lambda p: _gguf(p, [], [_tensor([1], n_dims=2**32 - 1)]),
                                 "dimensions (1 to 4)"),
    "dimensions past int64": (lambda p: _gguf(p, [], [_tensor([2**40, 2**40, 2**40])]),
                              "far more elements"),
    "200k nested arrays": (lambda p: _gguf(p, [_kv("x", ARRAY, _nested(200_000))]),
                           "nests arrays deeper"),
    "array of 2^60 items": (lambda p: _gguf(p, [_kv("x", ARRAY, struct.pack("<IQ", STRING,
                                                                         2**60))]),
                            "more than the file holds"),
    "2^60 metadata keys": (lambda p: _gguf(p, [], n_kv=2**60), "more than the file holds"),
    "unknown value type": (lambda p: _gguf(p, [_kv("x", 99, b"")]), "unknown value type 99"),
    "alignment 0": (lambda p: _gguf(p, [_kv("general.alignment", UINT32,
                                            struct.pack("<I", 0))]), "not a power of two"),
    "alignment 3": (lambda p: _gguf(p, [_kv("general.alignment", UINT32,
                                            struct.pack("<I", 3))]), "not a power of two"),
    "alignment as text": (lambda p: _gguf(p, [_kv("general.alignment", STRING,
                                                  _string(b"32"))]), "not a power of two"),
    "key not UTF-8": (lambda p: _gguf(p, [_string(b"\xff\xfe") + struct.pack("<I", UINT32)
                                          + struct.pack("<I", 1)]), "not UTF-8"),
}


@pytest.mark.parametrize("case", list(HEADERS))
def test_a_hostile_header_gets_one_clean_message_everywhere(
        tmp_path: Path, store: Store, data_paths: DataPaths, case: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    build, expected = HEADERS[case]
    path = build(tmp_path / "hostile.gguf")
    started = time.monotonic()
    with pytest.raises(GGUFInfoError, match=re.escape(expected)):  # add-model, GGUF list
        read_gguf_info(path)
    with pytest.raises(Exception, match=re.escape(expected)) as chat:  # chat, export
        read_gguf(path)
    assert type(chat.value).__name__ == "GGUFFileError"
    assert main(["add-model", str(path)]) != 0
    said = capsys.readouterr()
    assert expected in said.err + said.out
    assert "Traceback" not in said.err + said.out
    assert time.monotonic() - started < 10.0
    assert not list_models(store)


TEMPLATES = {case: expected for case, (changes, expected) in HOSTILE.items()
             if set(changes) == {TEMPLATE} and expected is not None}


@pytest.mark.parametrize("case", list(TEMPLATES))
def test_add_model_refuses_a_template_the_chat_worker_refuses(
        store: Store, data_paths: DataPaths, demo_gguf: Path, tmp_path: Path,
        case: str) -> None:
    changes, expected = HOSTILE[case]
    bad = rewrite(demo_gguf, tmp_path / "hostile.gguf", changes)
    job = create_import_job(data_paths.root / "jobs", bad, data_paths.models, data_paths.db)
    started = time.monotonic()
    last = run_foreground("gguf_import", job, lambda event: None)
    assert last is not None
    assert last.event == "failed"
    assert "chat template cannot be used" in last["message"]
    assert expected in last["message"]
    assert time.monotonic() - started < 60
    assert not list_models(store)
    assert not list(data_paths.models.glob("*"))


def _model_with_template(demo_model_dir: Path, out: Path, template: str) -> Path:
    shutil.copytree(demo_model_dir, out)
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["chat_template"] = template
    config_path.write_text(json.dumps(config))
    jinja = out / "chat_template.jinja"
    if jinja.exists():
        jinja.write_text(template)
    return out


def test_training_renders_the_template_with_the_chat_worker_limits(
        store: Store, data_paths: DataPaths, demo_model_dir: Path, tmp_path: Path) -> None:
    from backends.lib.train_synthetic import populate
    from studio.data.snapshots import export_snapshot

    changes, expected = HOSTILE["endless loop"]
    model = _model_with_template(demo_model_dir, tmp_path / "loop-model", changes[TEMPLATE])
    add_base_model(store, model)
    populate(store, 8)
    snapshot = export_snapshot(store, "sft", data_paths.snapshots / "s")
    config = TrainConfig.for_method("sft", str(model), "quick", max_steps=2, batch_size=2,
                                    max_length=64)
    run = create_run(store, data_paths, config, snapshot.path)
    started = start_next(store, data_paths)
    assert started is not None
    assert started.pid
    deadline = time.monotonic() + 240
    try:
        while sync_run(store, run.id).status == "running":
            assert time.monotonic() < deadline, "train stalled on the template"
            time.sleep(0.5)
    finally:
        if psutil.pid_exists(started.pid):
            psutil.Process(started.pid).kill()
    failed = read_events(run.dir.events)[-1]
    assert failed.event == "failed"
    assert "chat template" in failed["message"]
    assert expected in failed["message"]
