"""What the CLI prints while it follows a job: one line per progress event, failures on stderr."""

from __future__ import annotations

import sys

from studio.events import Event


def out(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def print_job_event(event: Event) -> None:
    if event.event == "progress":
        out(f"  {event.get('message', '')}")
    elif event.event in ("failed", "cancelled"):
        sys.stderr.write(f"error: {event.get('message', event.event)}\n")
