"""Issue 21: train on what I labeled. ``--from mine|all|TAG|SOURCE`` (studio.data.scope and
studio.app.train_scope): ``mine`` leaves imported labels out, is the default once the person
made enough labels for the method, and the count comes with its reason. And the first step
after the welcome panel: a base model whose GGUF is at hand is chat-ready without an export."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from studio.app.train_scope import ENOUGH_MINE, default_scope, describe_scope, scope_choices
from studio.app.training import snapshot_labels
from studio.cli.train import add_train_commands, build_config
from studio.data.derive import derive
from studio.data.importing import import_path
from studio.data.scope import made_here
from studio.data.snapshots import export_snapshot, load_manifest
from studio.db.store import Store
from studio.errors import EmptyDatasetError
from studio.evaluation.engines import LLAMA_CPP, model_files
from studio.paths import DataPaths
from studio.registry import models
from studio.training.config import TrainConfig


def imported(store: Store, tmp_path: Path, rows: int = 60) -> None:
    """``rows`` imported SFT examples (gold answers that came with a file)."""
    path = tmp_path / "public.jsonl"
    path.write_text("\n".join(json.dumps({"instruction": f"Say {n}", "output": f"{n}."})
                              for n in range(rows)) + "\n", encoding="utf-8")
    import_path(store, path)


def mine(store: Store, count: int, start: int = 0) -> None:
    """``count`` answers the person approved in the app (thumbs up)."""
    for n in range(start, start + count):
        prompt = store.add_prompt(f"What is {n} plus 1?", source="typed", tags=["sums"])
        response = store.add_response(prompt, f"Answer: {n + 1}. — Done.", origin="model")
        store.label_thumb(response, "up", "me")


def test_mine_leaves_imported_labels_out(store: Store, data_paths: DataPaths,
                                         tmp_path: Path) -> None:
    imported(store, tmp_path)
    mine(store, 25)
    own = export_snapshot(store, "sft", tmp_path / "own", scope="mine")
    every = export_snapshot(store, "sft", tmp_path / "all", scope="all")
    assert own.counts["train"] + own.counts["eval"] == 25
    assert every.counts["train"] + every.counts["eval"] == 85
    assert load_manifest(own.path)["scope"] == "mine"
    texts = (own.path / "train.jsonl").read_text() + (own.path / "eval.jsonl").read_text()
    assert "Say " not in texts
    tagged = export_snapshot(store, "sft", tmp_path / "tag", scope="sums")
    assert tagged.counts["train"] + tagged.counts["eval"] == 25
    source = export_snapshot(store, "sft", tmp_path / "src", scope="import:public.jsonl")
    assert source.counts["train"] + source.counts["eval"] == 60
    with pytest.raises(EmptyDatasetError, match="no prompt has a tag or source"):
        export_snapshot(store, "sft", tmp_path / "none", scope="nope")


def test_mine_is_the_default_once_there_are_enough(store: Store, tmp_path: Path) -> None:
    imported(store, tmp_path)
    mine(store, ENOUGH_MINE - 1)
    assert default_scope(store, "sft") == "all"
    found = describe_scope(store, "sft")
    assert (found.selector, found.count) == ("all", 60 + ENOUGH_MINE - 1)
    assert f"your own labels give {ENOUGH_MINE - 1}" in found.why
    mine(store, 1, start=ENOUGH_MINE)
    assert default_scope(store, "sft") == "mine"
    found = describe_scope(store, "sft")
    assert (found.selector, found.count) == ("mine", ENOUGH_MINE)
    assert "60 from imports left out" in found.why
    assert describe_scope(store, "sft", "all").count == 60 + ENOUGH_MINE
    assert scope_choices(store)[:2] == ["mine", "all"]
    assert "import:public.jsonl" in scope_choices(store)


def test_the_launch_and_the_cli_train_on_the_default_scope(
        store: Store, data_paths: DataPaths, tmp_path: Path) -> None:
    imported(store, tmp_path)
    mine(store, ENOUGH_MINE)
    config = snapshot_labels(store, data_paths, TrainConfig.for_method("sft", "m"))
    assert config.train_from == "mine"
    assert load_manifest(config.snapshot_dir)["scope"] == "mine"
    parser = argparse.ArgumentParser()
    add_train_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", "--method", "sft", "--model", "m", "--from", "all",
                              "--time-budget", "20"])
    built = build_config(args, store, data_paths)
    assert (built.train_from, built.time_budget_minutes) == ("all", 20.0)
    manifest = load_manifest(built.snapshot_dir)
    assert manifest["counts"]["train"] + manifest["counts"]["eval"] == 60 + ENOUGH_MINE


def test_a_base_whose_gguf_is_at_hand_is_chat_ready(store: Store, tmp_path: Path) -> None:
    """The starter's folder records the Q4_1 GGUF it came from: registering it makes that
    GGUF its chat-ready copy (Generate, Compare and Eval), with no export."""
    gguf = tmp_path / "cache" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    gguf.parent.mkdir()
    gguf.write_bytes(b"GGUF" + b"\0" * 60)
    folder = tmp_path / "smollm2"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "gguf_source.json").write_text(json.dumps(
        {"file": gguf.name, "path": str(gguf), "quant": "Q4_1"}))
    base = models.add_base_model(store, folder, name="SmolLM2")
    assert [(label, path) for label, path, _ in models.chat_targets(store)] == \
        [("SmolLM2 · Q4_1", str(gguf.resolve()))]
    assert model_files(store, base.id).engine == LLAMA_CPP
    assert models.add_base_model(store, folder).id == base.id  # registered once
    assert len(models.list_models(store, "gguf")) == 1
    gguf.unlink()  # a base whose GGUF is gone is not chat-ready
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text("{}")
    (other / "gguf_source.json").write_text(json.dumps(
        {"file": gguf.name, "path": str(gguf), "quant": "Q4_1"}))
    models.add_base_model(store, other)
    assert len(models.list_models(store, "gguf")) == 1


def test_scope_counts_equal_a_full_derivation(store: Store, tmp_path: Path) -> None:
    """"Train on" counts from the kept readiness sums and the person's own labels picked out
    in SQL (a million imported labels are never built again for it): the same numbers as
    deriving every label, with imports, accepted and unaccepted judge labels, pairs and
    thumbs down in the mix."""
    imported(store, tmp_path)
    mine(store, 7)
    prompt = store.add_prompt("Pick one", source="typed")
    left, right = (store.add_response(prompt, text, origin="model") for text in ("a", "b"))
    store.label_pair(left, right, "left", "me")
    store.label_thumb(right, "down", "me")
    accepted = store.label_thumb(left, "up", "judge:m", annotator_kind="judge")
    store.label_thumb(right, "up", "judge:m", annotator_kind="judge")  # never accepted
    with store.atomic():
        store.db.execute("UPDATE labels SET accepted = 1 WHERE id = ?", [accepted.id])
    labels = store.current_labels()
    for method, kind in (("sft", "sft"), ("dpo", "dpo"), ("kto", "kto")):
        every = len(getattr(derive(store, labels=labels), kind))
        own = len(getattr(derive(store, labels=[x for x in labels if made_here(x)]), kind))
        assert describe_scope(store, method, "all").count == every, method
        assert describe_scope(store, method, "mine").count == own, method
