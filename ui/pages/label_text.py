"""The words the Label page shows: item metadata, judge suggestions and empty states."""

from __future__ import annotations

from studio.app.label import QueueItem
from studio.app.overview import QueueOverview
from studio.db.records import Label
from ui.pages.label_keys import MODE_NAMES


def suggestion_text(item: QueueItem) -> str:
    """The judge's pre-label as one line, e.g. "Judge demo suggests: thumbs up · p=0.83"."""
    hint = item.suggestion
    if hint is None or item.mode == "edit":
        return ""
    words = {"up": "👍 thumbs up", "down": "👎 thumbs down", "left": "A (left) is better",
             "right": "B (right) is better", "tie": "a tie", "both_bad": "both bad"}
    odds = "" if hint.probability is None else (
        f" · p(good)={hint.probability:.2f}" if item.mode == "thumb"
        else f" · p(A better)={hint.probability:.2f}")
    return f"Judge {hint.judge} suggests: {words.get(hint.value, hint.value)}{odds}"


RECORDED = {"up": "👍", "down": "👎", "left": "A better", "right": "B better", "tie": "Tie",
            "both_bad": "Both bad", "gold": "Gold answer"}


def recorded_text(label: Label) -> str:
    """What the last label key recorded, e.g. "👎 recorded · reason saved"."""
    text = f"{RECORDED.get(label.value, label.value)} recorded"
    return text + (" · reason saved" if label.reason else "")


def prompt_meta(item: QueueItem) -> str:
    parts = [f"#{item.prompt.id}", item.prompt.source]
    if item.prompt.tags:
        parts.append(", ".join(item.prompt.tags))
    if item.relabel:
        parts.append("re-label sample (blind)")
    return " · ".join(parts)


def response_meta(response: object) -> str:
    model = getattr(response, "model", None)
    origin = getattr(response, "origin", "")
    return f"#{getattr(response, 'id', '')} · {model or origin}"


def empty_text(mode: str, overview: QueueOverview | None, skipped: int) -> tuple[str, str]:
    """Title and rich text for an empty queue: why it is empty and what to do next."""
    if overview is None or overview.prompts == 0:
        return ("Nothing to label yet",
                "Import a dataset on the <b>Data</b> page (Alt+1), or add the starter prompts"
                " there. Prompts without answers can be answered in <b>Edit</b> mode (3).")
    if mode in ("thumb", "pair") and overview.responses == 0:
        return ("These prompts have no responses yet",
                "Thumbs and Pairwise judge model answers. Press <b>3</b> to write answers"
                " yourself in Edit mode, import a dataset that has responses, or press"
                " <b>Generate candidates…</b> to let a model write some.")
    if mode == "pair" and overview.pairable == 0:
        return ("No prompt has two responses yet",
                "Pairwise needs at least two answers to the same prompt. Press <b>1</b> for"
                " Thumbs, or import/generate a second answer per prompt.")
    more = (f"<br><br>You skipped {skipped} item(s): press <b>Enter</b> to go through them"
            " again." if skipped else "")
    return (f"All caught up in {MODE_NAMES[mode]}",
            f"Every item that matches the filters is labeled ({overview.today:,} today)."
            f" Change the filters, switch modes with <b>1 2 3</b>, or undo with"
            f" <b>Ctrl+Z</b>.{more}")
