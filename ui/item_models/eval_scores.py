"""Each model's latest score per eval set, as the Models page shows it (a column and the
details line); the numbers come from ``studio.evaluation.summary.latest_scores``."""

from __future__ import annotations

from studio.app.evaluate import Score


def score_text(score: Score) -> str:
    return f"{score.set_name} {score.text()}"


def scores_cell(scores: list[Score]) -> str:
    """The compact column text: one "set rate (engine)" per eval set. The engine is part of
    the number: the same base scored 23% on llama.cpp (its Q4 GGUF) and 27% on
    transformers, and a column without it read as a change."""
    return ", ".join(f"{s.set_name} {s.interval.rate:.0%}" + (f" ({s.engine})" if s.engine
                                                              else "") for s in scores)


def scores_tooltip(scores: list[Score]) -> str:
    if not scores:
        return "Not evaluated yet: Evaluate… runs it on an eval set."
    return "\n".join(f"{score_text(s)} · {s.engine or 'engine unknown'} · eval run {s.run_id}"
                     for s in scores)
