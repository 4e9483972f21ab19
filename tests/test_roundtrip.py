"""Property: import → export → import keeps every example, whatever the text."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.data.importing import import_path
from studio.data.snapshots import export_snapshot
from studio.db.store import Store

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1, max_size=40,
).filter(lambda s: s.strip() != "")
preference = st.tuples(text, text, text).filter(lambda t: t[1] != t[2])
unpaired = st.tuples(text, text, st.booleans())


def _write(folder: Path, rows: list[dict]) -> Path:
    path = folder / "in.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _read(folder: Path) -> list[dict]:
    # split on "\n" only: JSON text may hold other characters that splitlines() breaks on
    lines = (folder / "train.jsonl").read_text("utf-8").split("\n")
    return [json.loads(line) for line in lines if line]


def _content(message_list: list[dict]) -> str:
    return message_list[-1]["content"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(preference, min_size=1, max_size=8, unique_by=lambda t: t[0]))
def test_dpo_round_trip(rows: list[tuple[str, str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first = Store.memory()
        import_path(first, _write(folder, [
            {"prompt": p, "chosen": c, "rejected": r} for p, c, r in rows]))
        exported = export_snapshot(first, "dpo", folder / "out", eval_fraction=0)
        again = Store.memory()
        import_path(again, exported.path / "train.jsonl")
        back = export_snapshot(again, "dpo", folder / "back", eval_fraction=0)
        expected = {(p, c, r) for p, c, r in rows}
        got = {(_content(x["prompt"]), _content(x["chosen"]), _content(x["rejected"]))
               for x in _read(back.path)}
        assert got == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(unpaired, min_size=1, max_size=8, unique_by=lambda t: (t[0], t[1])))
def test_kto_round_trip(rows: list[tuple[str, str, bool]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first = Store.memory()
        import_path(first, _write(folder, [
            {"prompt": p, "completion": c, "label": y} for p, c, y in rows]))
        exported = export_snapshot(first, "kto", folder / "out", eval_fraction=0)
        again = Store.memory()
        import_path(again, exported.path / "train.jsonl")
        back = export_snapshot(again, "kto", folder / "back", eval_fraction=0)
        got = {(_content(x["prompt"]), _content(x["completion"]), x["label"])
               for x in _read(back.path)}
        assert got == set(rows)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(text, text), min_size=1, max_size=8, unique_by=lambda t: t[0]))
def test_sft_round_trip(rows: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        first = Store.memory()
        import_path(first, _write(folder, [
            {"messages": [{"role": "user", "content": p}, {"role": "assistant", "content": a}]}
            for p, a in rows]))
        exported = export_snapshot(first, "sft", folder / "out", eval_fraction=0)
        again = Store.memory()
        import_path(again, exported.path / "train.jsonl")
        back = export_snapshot(again, "sft", folder / "back", eval_fraction=0)
        got = {(x["messages"][0]["content"], x["messages"][1]["content"]) for x in _read(back.path)}
        assert got == set(rows)
