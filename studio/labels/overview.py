"""Counts about the labels' raw material, for the readiness panel and the Label page's
empty-queue explanation. Plain reads; the store worker runs them."""

from __future__ import annotations

from studio.db.store import Store


def duplicate_prompts(store: Store) -> int:
    """Prompts beyond the first with the same text (up to case and outer spaces) and system:
    a count triggers keep (studio/db/summaries.py), not a scan."""
    row = store.db.execute("SELECT duplicates FROM store_totals").fetchone()
    return int(row[0]) if row else 0


def pairable_prompts(store: Store) -> int:
    """Prompts with at least two responses: what pair labeling can show."""
    found = store.db.execute("SELECT count(*) FROM prompts WHERE response_count > 1")
    return int(found.fetchone()[0])


def prompt_and_response_counts(store: Store) -> tuple[int, int]:
    return store.db["prompts"].count, store.db["responses"].count


def total_changes(store: Store) -> int:
    """Rows this connection has changed so far: the difference tells whether a write that
    may be a no-op (a duplicate response) stored anything."""
    return store.db.conn.total_changes
