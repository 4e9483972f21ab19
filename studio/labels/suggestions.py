"""Judge labels as suggestions: which are still unaccepted, and the detail view marking them.

A judge's label is not training data until the person accepts it
(``studio.candidates.judge.accept_judge_labels``); the Data page shows which are which.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from studio.db import browse
from studio.db.browse import LabelView
from studio.db.store import Store

JUDGE_PREFIX = "judge:"  # studio.candidates.judge.JudgeConfig.annotator


def judge_suggestions(store: Store, prompt_ids: list[int]) -> list[int]:
    """Ids of the judge labels on these prompts that are still suggestions."""
    labels = store.current_labels(include_unaccepted_judge=True, prompt_ids=prompt_ids)
    return [lab.id for lab in labels if lab.annotator_kind == "judge" and not lab.accepted]


def detail_with_suggestions(store: Store, prompt_id: int) -> tuple[Any, list[Any], dict]:
    """The detail pane's data, with each judge label marked as a suggestion or accepted."""
    prompt, responses, views = browse.prompt_detail(store, prompt_id)
    accepted = {(lab.annotator, lab.kind, rid) for lab in store.current_labels(
        prompt_ids=[prompt_id]) if lab.annotator_kind == "judge"
        for rid in (lab.response_id, lab.left_id, lab.right_id) if rid is not None}

    def marked(response_id: int, view: LabelView) -> LabelView:
        if not view.annotator.startswith(JUDGE_PREFIX):
            return view
        state = "accepted" if (view.annotator, view.kind, response_id) in accepted \
            else "suggestion, not training data until accepted"
        return replace(view, annotator=f"{view.annotator} ({state})")

    return prompt, responses, {rid: [marked(rid, v) for v in found]
                               for rid, found in views.items()}
