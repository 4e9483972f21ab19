"""Bundled starter prompts and the offline demo's canned responses.

The functions named ``*_op`` run on the store worker; the others are called on the UI
thread and queue them.
"""

from __future__ import annotations

import json
from pathlib import Path

from studio.app.import_data import ImportReport, import_path
from studio.app.label import total_changes
from studio.db.store import Store
from ui.context import AppContext, Changes
from ui.ops import Task

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
STARTER = RESOURCES / "starter_prompts.jsonl"
DEMO_RESPONSES = RESOURCES / "demo_responses.jsonl"
DEMO_MODEL_NAME = "demo (canned)"


def starter_op(store: Store, task: Task) -> ImportReport:
    return import_path(store, STARTER, progress=task.progress,
                       should_cancel=lambda: task.cancelled)


def demo_responses_op(store: Store) -> int:
    """Add the canned demo responses (with their prompts): labeling works with no model."""
    added = 0
    with store.atomic():
        for line in DEMO_RESPONSES.read_text(encoding="utf-8").splitlines():
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


def add_starter_prompts(context: AppContext, with_demo_responses: bool = False) -> None:
    def done(report: ImportReport) -> None:
        context.status_message.emit(
            f"Added {report.prompts_added} starter prompts.")
        if with_demo_responses:
            context.ops.run(demo_responses_op, on_success=demo_done, owner=context,
                            changes=Changes(prompts=True, responses=True))

    def demo_done(added: int) -> None:
        context.status_message.emit(f"Added {added} demo responses to label.")

    context.ops.run_task("Adding starter prompts", starter_op, on_success=done,
                         on_failure=lambda error: context.status_message.emit(str(error)),
                         owner=context, changes=Changes(prompts=True, responses=True,
                                                        labels=True))
