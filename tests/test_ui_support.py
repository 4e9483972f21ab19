"""Shared by the UI tests (no tests here): an AppContext over the test data folder, seeding."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.db.store import Store
from studio.paths import DataPaths
from ui.context import AppContext


@pytest.fixture
def context(data_paths: DataPaths, store: Store, tmp_path: Path, qapp: object
            ) -> Iterator[AppContext]:
    # The test's own connection opens (and migrates) the database first; two connections
    # switching a brand-new file to WAL at once can fail with "database is locked".
    ctx = AppContext(data_paths, tmp_path / "settings.ini")
    ctx.set_annotator("ana")
    yield ctx
    ctx.close()


def seed(store: Store, prompts: int = 3, responses: int = 2, tag: str = "general") -> list[int]:
    """Prompts with model responses; returns the prompt ids."""
    ids = []
    for p in range(prompts):
        prompt_id = store.add_prompt(f"{tag} question {p}?", tags=[tag], source=f"src-{tag}")
        for r in range(responses):
            store.add_response(prompt_id, f"answer {r} to {tag} {p}", origin="model",
                               model="m")
        ids.append(prompt_id)
    return ids
