"""Bundled starter prompts and the offline demo's canned responses, added on the store
worker (the use cases are in ``studio.app.import_data``); called on the UI thread."""

from __future__ import annotations

from studio.app.import_data import ImportReport, add_demo_responses
from studio.app.import_data import add_starter_prompts as add_starter_prompts_op
from studio.db.store import Store
from ui.context import AppContext, Changes
from ui.ops import Task


def starter_op(store: Store, task: Task) -> ImportReport:
    return add_starter_prompts_op(store, progress=task.progress,
                                  should_cancel=lambda: task.cancelled)


def add_starter_prompts(context: AppContext, with_demo_responses: bool = False) -> None:
    def done(report: ImportReport) -> None:
        context.status_message.emit(
            f"Added {report.prompts_added} starter prompts.")
        if with_demo_responses:
            context.ops.run(add_demo_responses, on_success=demo_done, owner=context,
                            changes=Changes(prompts=True, responses=True))

    def demo_done(added: int) -> None:
        context.status_message.emit(f"Added {added} demo responses to label.")

    context.ops.run_task("Adding starter prompts", starter_op, on_success=done,
                         on_failure=lambda error: context.status_message.emit(str(error)),
                         owner=context, changes=Changes(prompts=True, responses=True,
                                                        labels=True))
