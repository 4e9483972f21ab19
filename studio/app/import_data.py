"""Import files of prompts, answers and judgements: parse (shapes, examples), then import in
one transaction with progress. What the Import dialog and ``tuning-studio import`` share.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from studio.data.importing import (
    SHAPES,
    Example,
    ImportReport,
    ParsedFile,
    import_parsed,
    import_path,
    parse_path,
)
from studio.data.importing.progress import ImportRate
from studio.data.importing.shapes import SHAPE_NAMES
from studio.db.store import Store
from studio.labels.overview import total_changes
from studio.paths import resources_dir

DEMO_MODEL_NAME = "demo (canned)"


def starter_prompts() -> Path:
    """About 150 varied prompts shipped with the app, to answer or judge."""
    return resources_dir() / "starter_prompts.jsonl"


def add_starter_prompts(store: Store, progress: Callable[..., None] | None = None,
                        should_cancel: Callable[[], bool] | None = None) -> ImportReport:
    """Import the starter prompts (once: a second import adds nothing)."""
    return import_path(store, starter_prompts(), progress=progress, should_cancel=should_cancel)


def add_demo_responses(store: Store) -> int:
    """Add the canned demo responses (with their prompts), so labeling works with no model;
    returns how many were new. One transaction: all of them or none."""
    added = 0
    path = resources_dir() / "demo_responses.jsonl"
    with store.atomic():
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            prompt_id = store.add_prompt(row["prompt"], tags=row.get("tags", []),
                                         source="import:starter_prompts.jsonl")
            for text in row["responses"]:
                before = total_changes(store)  # a response already there is stored once
                store.add_response(prompt_id, text, origin="model", model=DEMO_MODEL_NAME,
                                   source="demo")
                added += total_changes(store) - before
    return added


__all__ = [
    "DEMO_MODEL_NAME",
    "SHAPES",
    "SHAPE_NAMES",
    "Example",
    "ImportRate",
    "ImportReport",
    "ParsedFile",
    "add_demo_responses",
    "add_starter_prompts",
    "import_parsed",
    "import_path",
    "parse_path",
    "starter_prompts",
]
