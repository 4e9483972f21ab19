"""Rows in the exact schemas of well-known public datasets (content written for the test)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from studio.data.importing import import_path
from studio.db.store import Store

U, A = "user", "assistant"

PUBLIC_ROWS: dict[str, tuple[dict[str, Any], dict[str, int]]] = {
    # tatsu-lab/alpaca: empty input is common
    "alpaca": ({"instruction": "Give three tips for staying healthy.", "input": "",
                "output": "1. Eat well. 2. Sleep. 3. Move.", "text": "ignored"}, {"gold": 1}),
    # databricks/databricks-dolly-15k
    "dolly": ({"instruction": "Who wrote Dune?", "context": "Dune is a 1965 novel.",
               "response": "Frank Herbert.", "category": "closed_qa"}, {"gold": 1}),
    # Anthropic/hh-rlhf: text transcripts, implicit prompt
    "hh-rlhf": ({"chosen": "\n\nHuman: How do I boil an egg?\n\nAssistant: Simmer it 9 min.",
                 "rejected": "\n\nHuman: How do I boil an egg?\n\nAssistant: No idea."},
                {"pair": 1}),
    # HuggingFaceH4/ultrafeedback_binarized: prompt column and full conversations
    "ultrafeedback": ({"prompt": "Name a color.", "prompt_id": "abc",
                       "chosen": [{"role": U, "content": "Name a color."},
                                  {"role": A, "content": "Blue."}],
                       "rejected": [{"role": U, "content": "Name a color."},
                                    {"role": A, "content": "Seven."}],
                       "messages": [{"role": U, "content": "Name a color."},
                                    {"role": A, "content": "Blue."}],
                       "score_chosen": 8.0, "score_rejected": 2.0}, {"pair": 1}),
    # trl-lib/ultrafeedback_binarized: implicit prompt in conversational form
    "trl-ultrafeedback": ({"chosen": [{"role": U, "content": "Hi"}, {"role": A, "content": "Hey"}],
                           "rejected": [{"role": U, "content": "Hi"}, {"role": A, "content": "?"}],
                           "score_chosen": 9.0, "score_rejected": 1.0}, {"pair": 1}),
    # trl-lib/kto-mix-14k
    "kto-mix": ({"prompt": [{"role": U, "content": "2+2?"}],
                 "completion": [{"role": A, "content": "4"}], "label": True}, {"thumb": 1}),
    # ShareGPT / OpenHermes style with a system turn
    "openhermes": ({"conversations": [{"from": "system", "value": "You are helpful."},
                                      {"from": "human", "value": "Hi"},
                                      {"from": "gpt", "value": "Hello!"}]}, {"gold": 1}),
    # HuggingFaceH4/no_robots
    "no_robots": ({"prompt": "Write a haiku.", "prompt_id": "x", "category": "Generation",
                   "messages": [{"role": U, "content": "Write a haiku."},
                                {"role": A, "content": "Quiet pond / a frog"}]}, {"gold": 1}),
}


@pytest.mark.parametrize("name", sorted(PUBLIC_ROWS))
def test_public_dataset_schema_imports(store: Store, tmp_path: Path, name: str) -> None:
    row, expected = PUBLIC_ROWS[name]
    path = tmp_path / f"{name}.jsonl"
    path.write_text(json.dumps(row) + "\n")
    import_path(store, path)
    kinds: dict[str, int] = {}
    for label in store.current_labels():
        kinds[label.kind] = kinds.get(label.kind, 0) + 1
    assert kinds == expected
    prompt = store.prompt(1)
    assert prompt.messages[-1]["role"] == "user"


def test_hh_transcript_splits_into_turns(store: Store, tmp_path: Path) -> None:
    row = PUBLIC_ROWS["hh-rlhf"][0]
    (tmp_path / "hh.jsonl").write_text(json.dumps(row) + "\n")
    import_path(store, tmp_path / "hh.jsonl")
    assert store.prompt(1).messages == [{"role": "user", "content": "How do I boil an egg?"}]
    (pair,) = store.current_labels()
    assert store.response(pair.left_id).text == "Simmer it 9 min."
