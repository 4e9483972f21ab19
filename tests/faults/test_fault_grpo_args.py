"""Family: GRPO settings written by hand. Every value that cannot train (NaN or infinite
numbers, text where numbers go, a list of the wrong length, a grader spec that is not a
string or names a schema that is not one) is a message naming the field, from the CLI as from
a config file; never a traceback, never a run that trains on a NaN reward. Messages that send
the person to a command name one that exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from studio.cli.main import main, make_parser
from studio.db.store import Store
from studio.paths import DataPaths
from studio.training.config import ConfigError, TrainConfig

GRPO = {"method": "grpo", "model": "some/model", "snapshot_dir": "snap",
        "graders": ["numeric"], "batch_size": 4}

BAD_VALUES: dict[str, tuple[dict[str, object], str]] = {
    "reward weight NaN": ({"reward_weights": [float("nan")]}, "field 'reward_weights'"),
    "reward weight infinite": ({"reward_weights": [float("inf")]}, "field 'reward_weights'"),
    "reward weights as text": ({"reward_weights": "abc"}, "field 'reward_weights'"),
    "reward weight as text": ({"reward_weights": ["1"]}, "field 'reward_weights'"),
    "reward weight true": ({"reward_weights": [True]}, "field 'reward_weights'"),
    "reward weights an object": ({"reward_weights": {"numeric": 1}},
                                 "field 'reward_weights'"),
    "reward weights too many": ({"reward_weights": [1, 2]}, "2 weight(s) for 1 grader(s)"),
    "graders a number": ({"graders": 5}, "field 'graders'"),
    "grader spec a number": ({"graders": [1]}, "field 'graders'"),
    "temperature NaN": ({"temperature": float("nan")}, "field 'temperature'"),
    "kl_beta NaN": ({"kl_beta": float("nan")}, "field 'kl_beta'"),
    "beta infinite": ({"beta": float("inf")}, "field 'beta'"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_bad_grpo_values_are_messages(case: str) -> None:
    values, expected = BAD_VALUES[case]
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_dict({**GRPO, **values})
    assert expected in str(caught.value)


def _schema(tmp_path: Path, schema: object) -> str:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema))
    return f"json-schema:{path}"


@pytest.mark.parametrize("schema", [[1, 2], {"type": 5}], ids=["a list", "type 5"])
def test_json_schema_grader_that_is_not_a_schema_is_a_message(tmp_path: Path,
                                                              schema: object) -> None:
    spec = _schema(tmp_path, schema)
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_dict({**GRPO, "graders": [spec]})
    assert "field 'graders'" in str(caught.value)
    assert str(tmp_path / "schema.json") in str(caught.value)


CLI: dict[str, tuple[list[str], str]] = {
    "--set reward_weights=abc": (["--grader", "numeric", "--set", "reward_weights=abc"],
                                 "field 'reward_weights': expected a list of floats"),
    "--set reward_weights=[NaN]": (["--grader", "numeric", "--set", "reward_weights=[NaN]"],
                                   "field 'reward_weights': item 1: must be a finite number"),
    "--set reward_weights=[Infinity]": (["--grader", "numeric", "--set",
                                         "reward_weights=[Infinity]"],
                                        "must be a finite number"),
    "--grader json-schema:<a list>": (["--grader", "SCHEMA"], "field 'graders'"),
    "--prompts evalset:<unknown>": (["--grader", "numeric", "--prompts", "evalset:nope"],
                                    "see 'tuning-studio evalset list'"),
}


@pytest.mark.parametrize("case", list(CLI))
def test_cli_says_what_is_wrong_without_a_traceback(
        data_paths: DataPaths, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        case: str) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    store = Store.open(data_paths.db)
    store.add_prompt("What is 6 times 7?")
    store.close()
    given, expected = CLI[case]
    flags = [_schema(tmp_path, [1, 2]) if flag == "SCHEMA" else flag for flag in given]
    if "--prompts" not in flags:
        flags += ["--prompts", "all"]
    code = main(["--data-dir", str(data_paths.root), "train", "--method", "grpo", "--model",
                 str(model), "--no-probe", *flags])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: ")
    assert expected in err
    assert "Traceback" not in err


def test_commands_named_in_messages_exist() -> None:
    """'see tuning-studio evals' sent people to a command that does not exist."""
    root = Path(__file__).resolve().parents[2]
    commands = set(make_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    named: dict[str, str] = {}
    for folder in ("studio", "backends", "ui"):
        for path in (root / folder).rglob("*.py"):
            for found in re.findall(r"tuning-studio ([a-z][a-z-]*)", path.read_text()):
                named.setdefault(found, str(path.relative_to(root)))
    unknown = {name: where for name, where in named.items() if name not in commands}
    assert unknown == {}
