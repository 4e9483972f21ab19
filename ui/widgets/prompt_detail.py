"""The Data page's detail pane as Markdown: the prompt, then each response with its labels."""

from __future__ import annotations

from studio.app.data import LabelView
from studio.db.records import Prompt, Response
from ui.widgets.markdown_view import conversation_markdown

VALUE_WORDS = {
    "up": "thumbs up", "down": "thumbs down", "gold": "gold answer", "preferred": "preferred",
    "rejected": "rejected", "tie": "tie", "both_bad": "both bad",
}


def detail_markdown(prompt: Prompt, responses: list[Response],
                    labels: dict[int, list[LabelView]]) -> str:
    tags = f" · tags: {', '.join(prompt.tags)}" if prompt.tags else ""
    parts = [f"#### Prompt #{prompt.id}\n\n*{prompt.source}{tags}*\n\n"
             + conversation_markdown(prompt.messages, prompt.system)]
    if not responses:
        parts.append("*No responses yet: add one, or write one in the Label page's Edit"
                     " mode.*")
    for response in responses:
        origin = response.model or response.origin
        edited = f" · edited from #{response.parent_id}" if response.parent_id else ""
        head = f"#### Response #{response.id}\n\n*{origin}{edited}*"
        notes = [_label_line(view) for view in labels.get(response.id, [])]
        label_text = "\n".join(f"- {note}" for note in notes) if notes else "- *not labeled*"
        parts.append(f"{head}\n\n{label_text}\n\n{response.text}")
    return "\n\n---\n\n".join(parts)


def _label_line(view: LabelView) -> str:
    word = VALUE_WORDS.get(view.value, view.value)
    other = f" (vs #{view.other_id})" if view.other_id else ""
    reason = f": “{view.reason}”" if view.reason else ""
    return f"**{word}**{other} by {view.annotator}{reason}"
