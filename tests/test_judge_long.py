"""Issue 11 item 5: a prompt or answer longer than the judge's context is cut to fit, the
label says so, and the job goes on (it failed with "index 557 is out of bounds")."""

from __future__ import annotations

from pathlib import Path

from test_judge import run_judge

from backends.judge import allot
from studio.candidates.judge import JudgeConfig
from studio.db.store import Store
from studio.paths import DataPaths


def test_allot_keeps_short_parts_and_shares_the_rest() -> None:
    assert allot([10, 500, 900], 300) == [10, 145, 145]
    assert allot([10, 20], 300) == [10, 20]


def test_long_texts_are_cut_to_fit_and_the_job_goes_on(
    store: Store, data_paths: DataPaths, demo_gguf: Path
) -> None:
    short = store.add_prompt("What is 2 + 2?")
    long = store.add_prompt("Summarise this. " + "The sea is wide and deep. " * 200)
    ids = [store.add_response(short, "4"), store.add_response(long, "Waves. " * 300),
           store.add_response(short, "Four.")]
    config = JudgeConfig(model_path=str(demo_gguf), model_name="demo", response_ids=ids,
                         n_ctx=256, threads=1)
    events = run_judge(data_paths.root / "jobs" / "long", config, data_paths.db)
    assert events[-1].event == "finished"
    reasons = {lab.response_id: lab.reason or ""
               for lab in store.current_labels(include_unaccepted_judge=True)}
    assert set(reasons) == set(ids)
    assert "cut to fit the 256-token context" in reasons[ids[1]]
    assert "cut" not in reasons[ids[0]]
