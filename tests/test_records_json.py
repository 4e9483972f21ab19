"""The importer's fast JSON (studio.db.records.stored_and_hash) is byte for byte what
``json.dumps`` and ``prompt_hash`` give: a prompt imported once and added by hand once must be
the same prompt, stored the same way."""

from __future__ import annotations

import json
import random

from studio.db.records import prompt_hash, stored_and_hash

PIECES = ["plain", "", " ", 'a "quoted" word', "back\\slash", "new\nline\ttab\r", "\x00\x1f\x7f",
          "é ü ß", "日本語", "emoji 🎉", "\u2028\u2029", "</script>", "{\"role\": 1}", "%_"]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 4)))


def test_fast_json_equals_dumps_and_prompt_hash() -> None:
    rng = random.Random(25)
    for _ in range(500):
        turns = [{"role": rng.choice(["user", "assistant"]), "content": _text(rng)}
                 for _ in range(rng.randint(1, 4))]
        system = rng.choice([None, "", _text(rng)])
        stored, key = stored_and_hash(turns, system)
        assert stored == json.dumps(turns, ensure_ascii=False)
        assert key == prompt_hash(turns, system)
        assert json.loads(stored) == turns


def test_turns_with_other_keys_go_the_slow_way() -> None:
    turns = [{"role": "user", "content": "hi", "name": "ann"}]
    assert stored_and_hash(turns, None) == (json.dumps(turns, ensure_ascii=False),
                                            prompt_hash(turns, None))
