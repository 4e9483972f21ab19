"""The one rule for which GGUF runs a model (studio.registry.gguf_resolve), over a real store:
a GGUF runs as itself, an adapter as its merged export or as a LoRA GGUF on its parent's GGUF,
a base as a GGUF under it (the starter's source GGUF included), F16 first, then the newest;
and Generate, Eval, the chat targets and Compare all follow it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from studio.app.generate import generation_target
from studio.db.store import Store
from studio.evaluation.engines import LLAMA_CPP, gguf_files, model_files
from studio.registry import models
from studio.registry.gguf_resolve import NoGGUFError, chat_ready, resolve_gguf
from studio.rounds.board import target_names
from studio.rounds.votes import compare_targets

Registry = dict[str, models.ModelEntry]


def _folder(path: Path, marker: str, source: Path | None = None) -> Path:
    path.mkdir(parents=True)
    (path / marker).write_text("{}")
    if source is not None:  # what backends.gguf_import leaves in a folder converted from a GGUF
        (path / "gguf_source.json").write_text(json.dumps(
            {"file": source.name, "path": str(source), "quant": "Q4_1"}))
    return path


def _file(path: Path) -> Path:
    """A stand-in GGUF: resolving only checks that the file exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + b"\0" * 60)
    return path


def _registry(store: Store, root: Path) -> Registry:
    """Every lineage the rule distinguishes, each under its own base."""
    r: Registry = {}
    r["base"] = models.add_base_model(store, _folder(root / "base", "config.json"), name="base")
    for quant in ("Q8_0", "F16", "Q4_K_M"):  # F16 neither first nor last registered
        r[f"base_{quant}"] = models.add_gguf(store, _file(root / f"base-{quant}.gguf"),
                                             r["base"].id, quant)

    def adapter(key: str, parent: str) -> models.ModelEntry:
        r[key] = models.add_adapter(store, _folder(root / key, "adapter_config.json"),
                                    r[parent].id, name=key)
        return r[key]

    def merged_export(key: str, quants: tuple[str, ...]) -> None:
        r[f"{key}_merged"] = models.add_merged(store, _folder(root / f"{key}-m", "config.json"),
                                               r[key].id)
        for quant in quants:
            r[f"{key}_{quant}"] = models.add_gguf(store, _file(root / f"{key}-{quant}.gguf"),
                                                  r[f"{key}_merged"].id, quant)

    def lora_export(key: str) -> None:
        r[f"{key}_lora"] = models.add_gguf(store, _file(root / f"{key}-lora.gguf"), r[key].id,
                                           "F16")

    adapter("merged_only", "base")
    merged_export("merged_only", ("F16", "Q4_K_M"))
    adapter("lora_only", "base")
    lora_export("lora_only")
    adapter("both", "base")
    lora_export("both")
    merged_export("both", ("Q4_K_M",))
    adapter("again", "merged_only_merged")  # a merged model tuned again: its LoRA's parent
    lora_export("again")
    source = _file(root / "cache" / "SmolLM2-135M-Instruct.Q4_1.gguf")
    r["starter"] = models.add_base_model(store, _folder(root / "starter", "config.json",
                                                        source), name="starter")
    (r["starter_Q4_1"],) = models.children(store, r["starter"].id)
    r["bare"] = models.add_base_model(store, _folder(root / "bare", "config.json"), name="bare")
    adapter("bare_adapter", "bare")
    adapter("bare_lora", "bare")
    lora_export("bare_lora")
    r["gone"] = models.add_base_model(store, _folder(root / "gone", "config.json"), name="gone")
    r["gone_F16"] = models.add_gguf(store, _file(root / "gone-F16.gguf"), r["gone"].id, "F16")
    r["gone_Q8_0"] = models.add_gguf(store, _file(root / "gone-Q8_0.gguf"), r["gone"].id, "Q8_0")
    Path(r["gone_F16"].path).unlink()
    return r


# model → (the full-model GGUF that runs it, the LoRA GGUF on it), or the error's words.
CASES: list[tuple[str, tuple[str, str | None] | str]] = [
    ("base_Q8_0", ("base_Q8_0", None)),  # a full GGUF runs as itself, whatever its quant
    ("base", ("base_F16", None)),  # F16 first, though a Q4_K_M is newer
    ("merged_only", ("merged_only_F16", None)),  # the adapter's merged export, F16 first
    ("merged_only_merged", ("merged_only_F16", None)),
    ("merged_only_Q4_K_M", ("merged_only_Q4_K_M", None)),
    ("lora_only", ("base_F16", "lora_only_lora")),  # on its base's F16
    ("lora_only_lora", ("base_F16", "lora_only_lora")),
    ("both", ("both_Q4_K_M", None)),  # the merged export before base + LoRA
    ("both_lora", ("base_F16", "both_lora")),  # a LoRA GGUF named itself runs as a LoRA
    ("again", ("merged_only_F16", "again_lora")),  # on its parent (merged), not the root
    ("starter", ("starter_Q4_1", None)),  # chat-ready from its source GGUF, no export
    ("gone", ("gone_Q8_0", None)),  # a file deleted from disk does not count
    ("gone_F16", "is gone"),
    ("bare", "bare \\(base-[0-9a-f]+\\) has no GGUF for llama.cpp yet: export it"),
    ("bare_adapter", "bare_adapter .* has no GGUF for llama.cpp yet"),
    ("bare_lora", "bare, the model it applies to, has no GGUF yet"),
    ("bare_lora_lora", "bare, the model it applies to, has no GGUF yet"),
]


@pytest.mark.parametrize(("model", "expected"), CASES, ids=[case[0] for case in CASES])
def test_which_gguf_runs_each_model(store: Store, tmp_path: Path, model: str,
                                    expected: tuple[str, str | None] | str) -> None:
    r = _registry(store, tmp_path)
    entry = r[model]
    if isinstance(expected, str):
        with pytest.raises(NoGGUFError, match=expected):
            resolve_gguf(store, entry.id)
        with pytest.raises(NoGGUFError, match=expected):
            generation_target(store, entry)
        assert gguf_files(store, entry.id) is None
        return
    full, lora = expected
    found = resolve_gguf(store, entry.id)
    assert (found.model.id, found.lora.id if found.lora else None) == \
        (r[full].id, r[lora].id if lora else None)
    # Every caller runs the same files: Generate, Eval (absolute paths) and the judge.
    paths = (r[full].path, r[lora].path if lora else None)
    assert generation_target(store, entry) == paths
    files = model_files(store, entry.id)
    assert (files.engine, files.model_path, files.adapter_path) == (LLAMA_CPP, *paths)


def test_chat_targets_are_every_gguf_as_it_runs(store: Store, tmp_path: Path) -> None:
    r = _registry(store, tmp_path)
    targets = models.chat_targets(store)
    assert targets == [(f.label, f.model_path, f.lora_path) for f in chat_ready(store)]
    labels = [label for label, _, _ in targets]
    # Full GGUFs first, then each LoRA on its parent's GGUF; the unrunnable are left out.
    assert labels[:3] == [r[k].name for k in ("base_Q8_0", "base_F16", "base_Q4_K_M")]
    assert labels[-3:] == [f"{r['base_F16'].name} + {r['lora_only_lora'].name}",
                           f"{r['base_F16'].name} + {r['both_lora'].name}",
                           f"{r['merged_only_F16'].name} + {r['again_lora'].name}"]
    assert r["gone_F16"].name not in labels
    assert not any(r["bare_lora_lora"].name in label for label in labels)
    assert r["starter_Q4_1"].name in labels
    # Compare: the newest tuned target against its base's preferred GGUF.
    _, pair = compare_targets(store)
    assert pair is not None
    assert [targets[i][0] for i in pair] == [r["base_F16"].name, labels[-1]]
    # A round generates with the first of its model's targets: the one the rule picks.
    assert target_names(store, r["base"].id)[0] == r["base_F16"].name
    assert target_names(store, r["merged_only"].id)[:2] == [r["merged_only_F16"].name,
                                                            r["merged_only_Q4_K_M"].name]
    assert target_names(store, r["starter"].id) == [r["starter_Q4_1"].name]
    assert target_names(store, r["bare"].id) == []


def test_nothing_chat_ready(store: Store, tmp_path: Path) -> None:
    base = models.add_base_model(store, _folder(tmp_path / "b", "config.json"))
    adapter = models.add_adapter(store, _folder(tmp_path / "a", "adapter_config.json"),
                                 base.id)
    models.add_gguf(store, _file(tmp_path / "lora.gguf"), adapter.id, "F16")
    assert models.chat_targets(store) == []
    assert compare_targets(store) == ([], None)
    assert model_files(store, base.id).engine == "transformers"  # Eval falls back
    with pytest.raises(NoGGUFError, match="has no GGUF yet"):
        resolve_gguf(store, adapter.id)


def test_a_base_registered_again_gets_its_source_gguf(store: Store, tmp_path: Path) -> None:
    """A store from before the source GGUF counted as the base's copy: registering the base
    again registers it, so the rule needs no second path for old stores."""
    source = _file(tmp_path / "SmolLM2.Q4_1.gguf")
    folder = _folder(tmp_path / "starter", "config.json", source)
    base = models.add_base_model(store, folder)
    (copy,) = models.children(store, base.id)
    models.delete_model(store, copy.id, tmp_path / "data", delete_files=False)
    with pytest.raises(NoGGUFError):
        resolve_gguf(store, base.id)
    assert models.add_base_model(store, folder).id == base.id
    assert resolve_gguf(store, base.id).model_path == str(source.resolve())
