"""``tuning-studio train --help`` lists every TrainConfig field with its type, default and the
help the Train page shows; a field flag is the same as ``--set FIELD=VALUE``."""

from __future__ import annotations

import argparse
from dataclasses import fields

import pytest

from studio.cli.config_flags import config_overrides
from studio.cli.main import make_parser
from studio.training.config import TrainConfig

OWN_FLAGS = {"method": "--method", "model": "--model", "preset": "--preset",
             "snapshot_dir": "--snapshot", "train_from": "--from",
             "time_budget_minutes": "--time-budget", "graders": "--grader",
             "prompts": "--prompts"}
# Not a setting: the app writes the run folder's database into its config.
APP_FIELDS = {"db"}


def _train_parser() -> argparse.ArgumentParser:
    parser = make_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices["train"]


def test_help_lists_every_field_with_type_default_and_help() -> None:
    text = " ".join(_train_parser().format_help().split())  # unwrap argparse's lines
    for spec in fields(TrainConfig):
        if spec.name in APP_FIELDS:
            assert f"--{spec.name}" not in text
            continue
        flag = OWN_FLAGS.get(spec.name, f"--{spec.name}")
        assert flag in text, f"train --help does not offer {spec.name}"
        if spec.name not in OWN_FLAGS:
            first_words = " ".join(spec.metadata["help"].split()[:4])
            assert first_words in text, f"{spec.name}'s help is not shown"
    assert "(int; default: -1)" in text  # max_steps: its type and default


def test_a_field_flag_is_the_same_as_set() -> None:
    parser = make_parser()
    args = parser.parse_args(["train", "--method", "sft", "--max_steps", "5",
                              "--learning_rate", "1e-4", "--set", "lora_r=8"])
    assert sorted([*args.set, *config_overrides(args)]) == [
        "learning_rate=1e-4", "lora_r=8", "max_steps=5"]


@pytest.mark.parametrize("name", ["model", "graders", "snapshot_dir"])
def test_fields_with_their_own_flag_are_not_doubled(name: str) -> None:
    assert f"--{name} VALUE" not in _train_parser().format_help()
