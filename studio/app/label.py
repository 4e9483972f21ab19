"""Label: the queue that picks the next item, the session's undo/redo, agreement between
annotators, and judge suggestions waiting to be accepted. What the Label page and the Data
page's detail share.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.labels.agreement import Agreement, between_annotators, mark_relabel, self_agreement
from studio.labels.history import LabelHistory
from studio.labels.overview import total_changes
from studio.labels.queue import (
    LabelQueue,
    QueueFilter,
    QueueItem,
    filter_prompt_ids,
    response_models,
)
from studio.labels.suggestions import detail_with_suggestions, judge_suggestions

__all__ = [
    "Agreement",
    "LabelHistory",
    "LabelQueue",
    "QueueFilter",
    "QueueItem",
    "between_annotators",
    "detail_with_suggestions",
    "filter_prompt_ids",
    "judge_suggestions",
    "mark_relabel",
    "response_models",
    "self_agreement",
    "total_changes",
]
