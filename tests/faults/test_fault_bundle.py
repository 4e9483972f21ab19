"""Family: run bundles are untrusted input. A bundle may name anything and hold anything: the
import writes only inside the data folder, reads only the bundle's own plain files, checks
every model it registers like local input, and leaves nothing behind when it refuses."""

from __future__ import annotations

import json
import os
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from studio.cli.main import main
from studio.db.store import Store
from studio.errors import DiskFullError
from studio.paths import DataPaths
from studio.registry.models import add_base_model, list_models
from studio.training.bundle import BundleError
from studio.training.bundle_import import import_bundle
from studio.training.config import TrainConfig
from studio.training.runs import list_runs

RUN_ID = "20261207-000000-sft-abcd"


def _event(name: str, t: float = 1.0, **fields: object) -> str:
    return json.dumps({"v": 1, "t": t, "event": name, **fields}) + "\n"


FINISHED = (_event("started", max_steps=2) + _event("step", step=1, loss=2.0)
            + _event("finished", adapter="/elsewhere/adapter", step=2,
                     metrics={"eval_loss": 1.5}, wall_s=3.0))


def _base(tmp: Path) -> Path:
    folder = tmp / "base-model"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "model.safetensors").write_bytes(b"\0" * 64)
    return folder


def _bundle(tmp: Path, store: Store, **info: object) -> Path:
    """A bundle as a finished remote run leaves it, registered under a base model here."""
    base = _base(tmp)
    parent = add_base_model(store, base)
    out = tmp / "bundle"
    run = out / "run"
    for folder in ("snapshot", "adapter", "checkpoints/checkpoint-2"):
        (run / folder).mkdir(parents=True)
    manifest = {"format": 1, "run_id": RUN_ID, "method": "sft", "base_model": str(base),
                "parent_model_id": parent.id, "snapshot_id": None, **info}
    (out / "bundle.json").write_text(json.dumps(manifest))
    TrainConfig(method="sft", model=str(base), snapshot_dir="snapshot").save(run / "config.json")
    (run / "snapshot" / "train.jsonl").write_text('{"messages": []}\n')
    (run / "events.jsonl").write_text(FINISHED)
    (run / "adapter" / "adapter_config.json").write_text('{"peft_type": "LORA"}')
    (run / "adapter" / "adapter_model.safetensors").write_bytes(b"\0" * 64)
    checkpoint = run / "checkpoints" / "checkpoint-2"
    (checkpoint / "adapter_model.safetensors").write_bytes(b"\0" * 64)
    (checkpoint / "optimizer.pt").write_bytes(b"\0" * 64)
    (checkpoint / "trainer_state.json").write_text("{}")
    return out


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _refused(store: Store, data_paths: DataPaths, bundle: Path, expected: str) -> str:
    """Import must refuse with ``expected`` in the message and leave nothing behind."""
    models_before = {m.id for m in list_models(store)}
    runs_before = _tree(data_paths.runs)
    with pytest.raises(BundleError) as caught:
        import_bundle(store, data_paths, bundle)
    assert expected in str(caught.value)
    assert _tree(data_paths.runs) == runs_before, "a refused import left files in runs/"
    assert list_runs(store) == []
    assert {m.id for m in list_models(store)} == models_before
    return str(caught.value)


def _outside(tmp: Path) -> list[Path]:
    """Anything written next to the data folder (the traversal targets)."""
    return [p for p in tmp.rglob("*") if "escaped" in p.name]


# ---- names taken from bundle.json ----------------------------------------------------------
NAMES: dict[str, tuple[dict[str, object], str]] = {
    "method climbing out of the data folder": (
        {"method": "/../../../../escaped"}, "field 'method'"),
    "method with ../": ({"method": "sft/../../escaped"}, "field 'method'"),
    "method not a string": ({"method": ["sft"]}, "field 'method'"),
    "run_id with a slash": ({"run_id": "../escaped"}, "field 'run_id'"),
    "run_id with terminal escapes": ({"run_id": "\x1b[31mred"}, "field 'run_id'"),
    "parent_model_id with a slash": ({"parent_model_id": "../../escaped"},
                                     "field 'parent_model_id'"),
    "snapshot_id not a string": ({"snapshot_id": {"a": 1}}, "field 'snapshot_id'"),
}


@pytest.mark.parametrize("case", list(NAMES))
def test_names_from_the_bundle_are_checked(store: Store, data_paths: DataPaths, tmp_path: Path,
                                           case: str) -> None:
    info, expected = NAMES[case]
    message = _refused(store, data_paths, _bundle(tmp_path, store, **info), expected)
    assert "\x1b" not in message
    assert _outside(tmp_path) == []


def test_method_disagreeing_with_the_config_is_refused(store: Store, data_paths: DataPaths,
                                                       tmp_path: Path) -> None:
    _refused(store, data_paths, _bundle(tmp_path, store, method="dpo"), "says method")


# ---- what the bundle's run folder holds ----------------------------------------------------
def _link_to_secret(run: Path, tmp: Path) -> None:
    secret = tmp / "secret-key"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----")
    (run / "adapter" / "notes.txt").symlink_to(secret)


def _link_to_dev_zero(run: Path, tmp: Path) -> None:
    (run / "snapshot" / "eval.jsonl").symlink_to("/dev/zero")


def _fifo(run: Path, tmp: Path) -> None:
    os.mkfifo(run / "checkpoints" / "pipe")


def _linked_folder(run: Path, tmp: Path) -> None:
    (tmp / "elsewhere").mkdir()
    (tmp / "elsewhere" / "secret").write_text("secret")
    (run / "checkpoints" / "checkpoint-9").symlink_to(tmp / "elsewhere")


def _run_is_a_link(run: Path, tmp: Path) -> None:
    real = tmp / "real-run"
    run.rename(real)
    run.symlink_to(real)


def _odd_file_name(run: Path, tmp: Path) -> None:
    (run / "snapshot" / "bad\nname.jsonl").write_text("x")


def _deep(run: Path, tmp: Path) -> None:
    deep = run.joinpath(*["d"] * 20)
    deep.mkdir(parents=True)
    (deep / "f").write_text("x")


def _bad_config(run: Path, tmp: Path) -> None:
    (run / "config.json").write_text('{"method": "sft", "batch_size": "many"}')


def _garbage_before_the_end(run: Path, tmp: Path) -> None:
    lines = FINISHED.splitlines(keepends=True)
    (run / "events.jsonl").write_text(lines[0] + "not json\n" + "".join(lines[1:]))


def _no_events(run: Path, tmp: Path) -> None:
    (run / "events.jsonl").write_text("")


def _pickle_adapter(run: Path, tmp: Path) -> None:
    (run / "adapter" / "adapter_model.safetensors").unlink()
    (run / "adapter" / "adapter_model.bin").write_bytes(b"\x80\x04cos\nsystem\n")


def _code_adapter(run: Path, tmp: Path) -> None:
    (run / "adapter" / "adapter_config.json").write_text(
        '{"peft_type": "LORA", "auto_map": {"AutoModel": "evil.Model"}}')


def _pickle_checkpoint(run: Path, tmp: Path) -> None:
    checkpoint = run / "checkpoints" / "checkpoint-2"
    (checkpoint / "adapter_model.safetensors").unlink()
    (checkpoint / "adapter_model.bin").write_bytes(b"\x80\x04cos\nsystem\n")


CONTENTS: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "symlink to a secret file": (_link_to_secret, "is a symbolic link"),
    "symlink to /dev/zero": (_link_to_dev_zero, "is a symbolic link"),
    "named pipe": (_fifo, "not a regular file"),
    "symlinked folder": (_linked_folder, "is a symbolic link"),
    "run folder is a symlink": (_run_is_a_link, "not a plain folder"),
    "file name with a newline": (_odd_file_name, "a name a bundle may not hold"),
    "folders 20 deep": (_deep, "nested over"),
    "config.json with a wrong type": (_bad_config, "field 'batch_size'"),
    "garbage line before the outcome": (_garbage_before_the_end, "events.jsonl:2"),
    "no events": (_no_events, "has no events"),
    "adapter with pickle-only weights": (_pickle_adapter, "only pickle weights"),
    "adapter asking for custom code": (_code_adapter, "custom Python code"),
    "checkpoint with pickle-only weights": (_pickle_checkpoint, "only pickle weights"),
}


@pytest.fixture
def bounded_files() -> Iterator[None]:
    """No file this process writes may grow past 64 MB while the probe runs: were the import
    to follow a link to /dev/zero again, the probe fails instead of filling the disk."""
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past it: EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 2**20, limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, previous)


@pytest.mark.usefixtures("bounded_files")
@pytest.mark.parametrize("case", list(CONTENTS))
def test_hostile_contents_are_refused_whole(store: Store, data_paths: DataPaths,
                                            tmp_path: Path, case: str) -> None:
    make, expected = CONTENTS[case]
    bundle = _bundle(tmp_path, store)
    make(bundle / "run", tmp_path)
    started = time.monotonic()
    _refused(store, data_paths, bundle, expected)
    assert time.monotonic() - started < 30
    copied = [p for p in data_paths.root.rglob("*") if p.is_file()
              and "OPENSSH" in p.read_text(errors="replace")]
    assert copied == [], "a file outside the bundle was copied into the data folder"


def test_bundle_json_that_is_a_pipe_is_refused(store: Store, data_paths: DataPaths,
                                               tmp_path: Path) -> None:
    bundle = _bundle(tmp_path, store)
    manifest = bundle / "bundle.json"
    text = manifest.read_text()
    manifest.unlink()
    os.mkfifo(manifest)

    def feed() -> None:  # a reader that opens the pipe anyway gets a valid manifest, late
        time.sleep(2)
        with manifest.open("w") as pipe:
            pipe.write(text)

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        _refused(store, data_paths, bundle, "not a plain file")
    finally:
        fd = os.open(manifest, os.O_RDONLY | os.O_NONBLOCK)  # let the feeder finish
        feeder.join(timeout=10)
        os.close(fd)


# ---- the base model it names ---------------------------------------------------------------
def test_unknown_hub_id_is_refused_not_registered(store: Store, data_paths: DataPaths,
                                                  tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    bundle = _bundle(tmp_path, store, base_model="someone/never-heard-of-it",
                     parent_model_id=None)
    _refused(store, data_paths, bundle, "tuning-studio add-model someone/never-heard-of-it")


def test_cached_hub_model_with_custom_code_is_refused(store: Store, data_paths: DataPaths,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    snapshot = cache / "models--evil--model" / "snapshots" / "abc"
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text('{"auto_map": {"AutoModel": "modeling_evil.M"}}')
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    bundle = _bundle(tmp_path, store, base_model="evil/model", parent_model_id=None)
    _refused(store, data_paths, bundle, "custom Python code")


def test_relative_base_model_path_is_refused(store: Store, data_paths: DataPaths,
                                            tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative path would name whatever folder the import happens to run in."""
    bundle = _bundle(tmp_path, store, base_model="./base-model", parent_model_id=None)
    monkeypatch.chdir(tmp_path)  # where ./base-model exists
    _refused(store, data_paths, bundle, "not a model folder on this machine")


def test_local_base_with_pickle_weights_is_refused_and_nothing_left(
        store: Store, data_paths: DataPaths, tmp_path: Path) -> None:
    unsafe = tmp_path / "unsafe-base"
    unsafe.mkdir()
    (unsafe / "config.json").write_text('{"model_type": "llama"}')
    (unsafe / "pytorch_model.bin").write_bytes(b"\x80\x04cos\nsystem\n")
    bundle = _bundle(tmp_path, store, base_model=str(unsafe), parent_model_id=None)
    _refused(store, data_paths, bundle, "only pickle weights")


# ---- the outcome its events say ------------------------------------------------------------
TAILS: dict[str, str] = {
    "an event appended after finished": _event("step", t=9.0, step=3, loss=1.0),
    "a progress event appended after finished": _event("progress", t=9.0, stage="x",
                                                       message="x"),
    "garbage appended after finished": "garbage {\n",
    "a half-written line after finished": '{"v": 1, "t": 9.0, "eve',
}


@pytest.mark.parametrize("case", list(TAILS))
def test_a_finished_run_stays_finished(store: Store, data_paths: DataPaths, tmp_path: Path,
                                       case: str) -> None:
    bundle = _bundle(tmp_path, store)
    with (bundle / "run" / "events.jsonl").open("a") as events:
        events.write(TAILS[case])
    run = import_bundle(store, data_paths, bundle)
    assert run.status == "completed"
    assert [m.run_id for m in list_models(store, "adapter")] == [run.id]


FIELDS: dict[str, str] = {
    "metrics a list": _event("finished", step=2, metrics=[1, 2]),
    "step a string": _event("finished", step="two", metrics={}),
    "time beyond any calendar": _event("finished", t=1e20, step=2, metrics={}),
}


@pytest.mark.parametrize("case", list(FIELDS))
def test_odd_event_fields_import_cleanly(store: Store, data_paths: DataPaths, tmp_path: Path,
                                         case: str) -> None:
    bundle = _bundle(tmp_path, store)
    (bundle / "run" / "events.jsonl").write_text(
        _event("started", t=1e20 if "time" in case else 1.0) + FIELDS[case])
    run = import_bundle(store, data_paths, bundle)
    assert run.status == "completed"


def test_a_good_bundle_imports_inside_the_data_folder(store: Store, data_paths: DataPaths,
                                                      tmp_path: Path) -> None:
    run = import_bundle(store, data_paths, _bundle(tmp_path, store))
    assert run.status == "completed"
    assert run.run_dir.parent == data_paths.runs.resolve()
    assert (run.run_dir / "checkpoints" / "checkpoint-2" / "optimizer.pt").is_file()
    assert [p.name for p in data_paths.runs.iterdir()] == [run.id]  # no staging left


def test_cli_refusal_is_a_message_not_a_traceback(store: Store, data_paths: DataPaths,
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bundle = _bundle(tmp_path, store, method="/../../../../escaped")
    code = main(["--data-dir", str(data_paths.root), "runs", "--import", str(bundle)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ")
    assert "Traceback" not in err
    assert _outside(tmp_path) == []


def test_bundle_bigger_than_the_free_space_is_refused_before_copying(
        small_disk: Path, tmp_path: Path) -> None:
    paths = DataPaths.at(small_disk / "data")
    store = Store.open(paths.db)
    try:
        bundle = _bundle(tmp_path, store)
        (bundle / "run" / "checkpoints" / "checkpoint-2" / "big.safetensors").write_bytes(
            b"\0" * (6 * 2**20))
        with pytest.raises(BundleError, match="MB free"):
            import_bundle(store, paths, bundle)
        assert list(paths.runs.iterdir()) == []
    finally:
        store.close()


def test_disk_filling_up_during_the_copy_leaves_nothing(
        small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer fills the disk between the space check and the copy."""
    from studio.training import bundle_import

    monkeypatch.setattr(bundle_import, "check_space", lambda target, entries: None)
    paths = DataPaths.at(small_disk / "data")
    store = Store.open(paths.db)
    try:
        bundle = _bundle(tmp_path, store)
        (bundle / "run" / "checkpoints" / "checkpoint-2" / "big.safetensors").write_bytes(
            b"\0" * (6 * 2**20))
        with pytest.raises(DiskFullError, match="the disk is full"):
            import_bundle(store, paths, bundle)
        assert list(paths.runs.iterdir()) == []
        assert list_runs(store) == []
    finally:
        store.close()
