"""The labels overview: what the labels can train now (the readiness panel on the Data and
Train pages) and what the Label page says when its queue is empty."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from studio.db.store import Store
from studio.labels.overview import (
    duplicate_prompts,
    pairable_prompts,
    prompt_and_response_counts,
)
from studio.labels.queue import LabelQueue, labeled_today

if TYPE_CHECKING:
    from studio.data.snapshots import Readiness


@dataclass
class ReadinessReport:
    readiness: Readiness
    duplicates: int


@dataclass
class QueueOverview:
    """What the Label page needs to explain an empty queue."""

    prompts: int
    responses: int
    pairable: int
    remaining: int
    today: int


def readiness_report(store: Store) -> ReadinessReport:
    """Runs on the store worker: the derivation reads every current label."""
    # Imported here: snapshots bring in the evaluation and model-registry modules, which the
    # Label page (shown first, and the only user of queue_overview) never needs.
    from studio.data.snapshots import readiness

    return ReadinessReport(readiness(store), duplicate_prompts(store))


def queue_overview(store: Store, queue: LabelQueue, annotator: str,
                   since_iso: str) -> QueueOverview:
    """Every count on ``store``, which may be the reader's (``Ops.read``): the queue's own
    store is the writer's, and its full count would hold label commits back."""
    prompts, responses = prompt_and_response_counts(store)
    pairable = pairable_prompts(store) if queue.mode == "pair" else 0
    return QueueOverview(prompts, responses, pairable, queue.remaining(store),
                         labeled_today(store, annotator, since_iso))
