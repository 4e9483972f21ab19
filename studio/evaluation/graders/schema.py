"""The JSON Schema of a ``json-schema:FILE`` grader, checked once when the spec is parsed (at
``evalset create``, before a run starts), so a schema that cannot work is a message there and
never a traceback or a hang in the middle of an eval or training run.

Refused, each with what to change: a file over ``MAX_SCHEMA_BYTES``; a schema that is not an
object (or true/false); one nested deeper than ``MAX_DEPTH``; one that breaks the JSON Schema
rules (``{"type": 5}``); a ``$ref`` outside the file (it would be fetched from the network); a
``$ref`` loop that never reaches into the value (``{"$ref": "#"}``). A ``pattern`` that
backtracks cannot be told apart by looking: scoring runs in a worker with a time limit per
answer (:mod:`studio.evaluation.graders.sandbox`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAX_SCHEMA_BYTES = 1024 * 1024  # schemas people write are a few kB; 1 MiB is plenty
MAX_DEPTH = 64
# Values to try the schema on: a $ref loop shows up on any of them as endless recursion.
_PROBES: tuple[Any, ...] = (None, True, 0, 1.5, "", "x", [], [1], {}, {"a": 1})


class SchemaFileError(ValueError):
    """A json-schema grader's schema that cannot be used (the message says why)."""


def load_schema(path: Path) -> dict[str, Any] | bool:
    """Read and check the schema file; :class:`SchemaFileError` says what is wrong."""
    try:
        size = path.stat().st_size
        if size > MAX_SCHEMA_BYTES:
            raise SchemaFileError(f"{path} is {size / 2**20:.1f} MB; a schema file may be at"
                                  f" most {MAX_SCHEMA_BYTES // 2**20} MB")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SchemaFileError(f"json-schema file {path}: {error}") from None
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as error:
        raise SchemaFileError(f"json-schema file {path}: not valid JSON: {error}") from None
    except RecursionError:
        raise SchemaFileError(f"json-schema file {path} is nested deeper than {MAX_DEPTH}"
                              " levels") from None
    check_schema(schema, str(path))
    return schema  # type: ignore[no-any-return]


def check_schema(schema: Any, where: str) -> None:
    """Raise :class:`SchemaFileError` for a schema that cannot grade safely."""
    import jsonschema

    if not isinstance(schema, (dict, bool)):
        raise SchemaFileError(f"{where}: a JSON Schema is an object (or true/false), not a"
                              f" {type(schema).__name__}")
    _check_shape(schema, where)
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        at = "/".join(str(p) for p in error.absolute_path) or "the top level"
        raise SchemaFileError(f"{where}: not a valid JSON Schema at {at}: {error.message}"
                              ) from None
    except RecursionError:
        raise SchemaFileError(f"{where} is nested too deep to check") from None
    validator = jsonschema.Draft202012Validator(schema)
    for probe in _PROBES:
        try:
            for _ in validator.iter_errors(probe):
                pass
        except RecursionError:
            raise SchemaFileError(f"{where}: a $ref loops back without reaching into the value"
                                  " (e.g. {\"$ref\": \"#\"}), so checking any answer would"
                                  " never end") from None
        except jsonschema.exceptions.RefResolutionError as error:
            raise SchemaFileError(f"{where}: a $ref cannot be resolved: {error}") from None
        except (jsonschema.exceptions.UnknownType, LookupError, ValueError) as error:
            raise SchemaFileError(f"{where}: the schema fails on {probe!r}: {error}") from None


def _check_shape(schema: Any, where: str) -> None:
    """Depth and references, walked without recursion (the file may be 5,000 levels deep)."""
    stack: list[tuple[Any, int, str]] = [(schema, 0, "")]
    while stack:
        value, depth, at = stack.pop()
        if depth > MAX_DEPTH:
            raise SchemaFileError(f"{where} is nested deeper than {MAX_DEPTH} levels (at"
                                  f" {at[:200]}); flatten it with $defs")
        if isinstance(value, dict):
            for key in ("$ref", "$dynamicRef"):
                ref = value.get(key)
                if isinstance(ref, str) and not ref.startswith("#"):
                    raise SchemaFileError(
                        f"{where}: {key} {ref!r} at {at or '/'} points outside the file; only"
                        " references inside it (#/$defs/...) are allowed, nothing is fetched")
            stack.extend((v, depth + 1, f"{at}/{k}") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, depth + 1, f"{at}/{i}") for i, v in enumerate(value))
