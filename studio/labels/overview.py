"""Counts about the labels' raw material, for the readiness panel and the Label page's
empty-queue explanation. Plain reads; the store worker runs them."""

from __future__ import annotations

from studio.labels.store import Store


def duplicate_prompts(store: Store) -> int:
    """Prompts beyond the first with the same text (up to case and outer spaces) and system."""
    found = store.db.execute(
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM prompts"
        " GROUP BY lower(trim(text)), coalesce(system, '') HAVING n > 1)").fetchone()[0]
    return int(found)


def pairable_prompts(store: Store) -> int:
    """Prompts with at least two responses: what pair labeling can show."""
    found = store.db.execute(
        "SELECT count(*) FROM (SELECT prompt_id FROM responses GROUP BY prompt_id"
        " HAVING count(*) > 1)").fetchone()[0]
    return int(found)


def prompt_and_response_counts(store: Store) -> tuple[int, int]:
    return store.db["prompts"].count, store.db["responses"].count


def total_changes(store: Store) -> int:
    """Rows this connection has changed so far: the difference tells whether a write that
    may be a no-op (a duplicate response) stored anything."""
    return store.db.conn.total_changes
