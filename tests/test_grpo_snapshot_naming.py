"""GRPO prompt snapshots have one name, from their content (``snapshots/grpo-<hash>``, the
snapshot id), on the Train page, in its probe and in the CLI. A folder is written once and never
rewritten, so a probe reading it while a launch snapshots the same prompts reads it whole."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from backends.lib.train_synthetic import populate
from studio.app.training import snapshot_labels
from studio.cli.train import add_train_commands, build_config
from studio.db.store import Store
from studio.paths import DataPaths
from studio.training.config import TrainConfig
from studio.training.grpo import prompt_snapshot

GRADER = "regex:o"


def _cli_config(store: Store, paths: DataPaths, selector: str) -> TrainConfig:
    parser = argparse.ArgumentParser()
    add_train_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", "--method", "grpo", "--grader", GRADER, "--prompts",
                              selector, "--model", "some/model"])
    return build_config(args, store, paths)


def _page_config(store: Store, paths: DataPaths, selector: str) -> TrainConfig:
    config = TrainConfig.for_method("grpo", "some/model", "quick", graders=[GRADER],
                                    prompts=selector)
    return snapshot_labels(store, paths, config)


def test_the_page_and_the_cli_name_a_prompt_snapshot_alike(store: Store,
                                                           data_paths: DataPaths) -> None:
    populate(store, 6)
    page = Path(_page_config(store, data_paths, "synthetic").snapshot_dir)
    cli = Path(_cli_config(store, data_paths, "synthetic").snapshot_dir)
    assert page == cli
    manifest = json.loads((page / "manifest.json").read_text())
    assert page == data_paths.snapshots / manifest["id"]
    assert manifest["id"] == "grpo-" + manifest["content_hash"][:12]
    # The same prompts by another selector are the same content: the same folder.
    assert prompt_snapshot(store, "all", data_paths.snapshots).path == page
    assert sorted(p.name for p in data_paths.snapshots.iterdir()) == [page.name]  # no staging


def test_a_snapshot_folder_is_never_rewritten(store: Store, data_paths: DataPaths) -> None:
    populate(store, 4)
    first = prompt_snapshot(store, "synthetic", data_paths.snapshots)
    train = first.path / "train.jsonl"
    before = (train.stat().st_ino, train.stat().st_mtime_ns, train.read_text())
    again = _page_config(store, data_paths, "synthetic")
    assert Path(again.snapshot_dir) == first.path
    assert (train.stat().st_ino, train.stat().st_mtime_ns, train.read_text()) == before
    store.add_prompt("What colour is the fog?", source="synthetic")
    changed = prompt_snapshot(store, "synthetic", data_paths.snapshots)
    assert changed.path != first.path  # new prompts, a new folder beside the old one
    assert (train.stat().st_ino, train.read_text()) == (before[0], before[2])
    assert len(changed.path.joinpath("train.jsonl").read_text().splitlines()) == 5
    registered = {row[0] for row in store.db.execute("SELECT path FROM snapshots")}
    assert {str(first.path), str(changed.path)} <= registered


def test_a_damaged_folder_of_that_name_is_replaced(store: Store, data_paths: DataPaths) -> None:
    populate(store, 3)
    snapshot = prompt_snapshot(store, "synthetic", data_paths.snapshots)
    (snapshot.path / "train.jsonl").unlink()
    again = prompt_snapshot(store, "synthetic", data_paths.snapshots)
    assert again.path == snapshot.path
    assert len((again.path / "train.jsonl").read_text().splitlines()) == 3
