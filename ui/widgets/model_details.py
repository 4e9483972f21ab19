"""A model's details as HTML: lineage, self-check, the run and snapshot it came from."""

from __future__ import annotations

import html
import json
from typing import Any

from studio.app.models import ModelEntry
from ui.item_models.model_tree import check_summary

NO_SELECTION = ("Select a model to see where it came from: its training run, the labels"
                " snapshot it learned from, and its export self-check.")


def details_html(details: dict[str, Any]) -> str:
    entry: ModelEntry = details["model"]
    esc = html.escape
    lines = [f"<h3>{esc(entry.name)}</h3>", f"<p><b>{entry.kind}</b> · {esc(entry.path)}</p>",
             "<p>Lineage: " + " → ".join(esc(e.name) for e in details["lineage"]) + "</p>"]
    if entry.selfcheck:
        check = entry.selfcheck
        color = "" if check.get("passed") else " style='color:#c0392b'"
        lines.append(f"<p><b>Self-check</b></p><p{color}>{esc(check_summary(check))}</p>"
                     + _facts({k: v for k, v in check.items() if k != "summary"}))
    for key in ("run", "snapshot"):
        if isinstance(details.get(key), dict):
            lines.append(f"<p><b>{key.title()}</b></p>" + _facts(details[key]))
    return "".join(lines)


def _facts(record: dict[str, Any], prefix: str = "") -> str:
    """A record as a two-column table (nested keys as "config · lr"): easier to read than
    JSON, and every value is still there."""
    rows = []
    for key, value in record.items():
        name = f"{prefix}{key}".replace("_", " ")
        if isinstance(value, dict):
            rows.append(_facts(value, f"{name} · "))
        elif value not in (None, "", [], {}):
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            rows.append(f"<tr><td style='color:gray;padding-right:10px'>{html.escape(name)}"
                        f"</td><td>{html.escape(str(shown))}</td></tr>")
    body = "".join(rows)
    return body if prefix else f"<table cellspacing='0'>{body}</table>"
