"""The store's data as the Data page and the CLI read it (paged, filtered, sorted prompts) and
training snapshots (export, manifest, readiness).

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.data.snapshots import (
    KINDS,
    RECOMMENDED,
    Snapshot,
    export_snapshot,
    load_manifest,
    readiness,
)
from studio.db.browse import (
    SORT_COLUMNS,
    BrowseQuery,
    LabelView,
    PromptRow,
    annotators,
    sources_and_tags,
)
from studio.db.browse import (
    count as count_prompts,
)
from studio.db.browse import (
    page as prompt_page,
)

__all__ = [
    "KINDS",
    "RECOMMENDED",
    "SORT_COLUMNS",
    "BrowseQuery",
    "LabelView",
    "PromptRow",
    "Snapshot",
    "annotators",
    "count_prompts",
    "export_snapshot",
    "load_manifest",
    "prompt_page",
    "readiness",
    "sources_and_tags",
]
