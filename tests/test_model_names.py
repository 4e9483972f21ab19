"""Issue 11 item 9: trained models get readable names, not timestamps."""

from __future__ import annotations

from studio.registry.models import tuned_name


def test_tuned_name_reads_base_method_date_and_note() -> None:
    assert tuned_name("SmolLM2-135M-Instruct", "sft", "2026-12-03T11:52:00Z", "40 steps") == (
        "SmolLM2-135M-Instruct · SFT · 2026-12-03 · 40 steps")
    assert tuned_name("base", "dpo", "2026-12-03T11:52:00Z") == "base · DPO · 2026-12-03"
    long = tuned_name("b", "kto", "2026-12-03", "one two three four five six seven")
    assert long.endswith("one two three four five six …")
