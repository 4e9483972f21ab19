"""Any GGUF as a base model: ``add-model`` converts it, registers its lineage, refuses what it
cannot convert; the real model's converted tokenizer agrees with llama.cpp's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from studio.cli.main import main
from studio.db.store import Store
from studio.paths import DataPaths
from studio.registry.gguf_import import SOURCE_FILE
from studio.registry.models import ModelRegistryError, add_base_model, list_models


def test_add_model_converts_a_gguf_and_records_where_it_came_from(
        demo_gguf: Path, data_paths: DataPaths, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(data_paths.root)
    assert main(["--data-dir", root, "add-model", str(demo_gguf), "--name", "demo"]) == 0
    out = capsys.readouterr().out
    assert "registered base-" in out
    assert "(from GGUF demo-f16.gguf, F16)" in out
    assert main(["--data-dir", root, "models", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    (entry,) = [m for m in listed if m["kind"] == "base"]
    # The GGUF it came from is its chat-ready copy: no export before Generate (issue 21).
    (source,) = [m for m in listed if m["kind"] == "gguf"]
    assert (source["parent_id"], Path(source["path"])) == (entry["id"], demo_gguf.resolve())
    assert entry["name"] == "demo"
    assert entry["origin"] == "from GGUF demo-f16.gguf, F16"
    # transformers rebuilt the SentencePiece tokenizer with a space prefix the GGUF does not
    # add; the import removed it, so both now split every checked text alike.
    check = entry["meta"]["tokenizer_check"]
    assert check["differing"] == 0
    assert check["fixed"] == "no space prefix, as the GGUF says"
    folder = Path(entry["path"])
    assert {"model.safetensors", "tokenizer.json", "chat_template.jinja", SOURCE_FILE} <= {
        p.name for p in folder.iterdir()}
    # The same file again: the registered model, not a second conversion.
    assert main(["--data-dir", root, "add-model", str(demo_gguf)]) == 0
    assert entry["id"] in capsys.readouterr().out


def test_a_truncated_gguf_registers_nothing(demo_gguf: Path, data_paths: DataPaths,
                                            tmp_path: Path, store: Store,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(demo_gguf.read_bytes()[:300_000])
    assert main(["--data-dir", str(data_paths.root), "add-model", str(cut)]) == 1
    assert "truncated" in capsys.readouterr().err
    assert list_models(store) == []


def test_folders_that_need_their_own_code_are_refused(demo_model_dir: Path, tmp_path: Path,
                                                      store: Store) -> None:
    folder = tmp_path / "custom"
    shutil.copytree(demo_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_x.XForCausalLM"}
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelRegistryError, match="does not run"):
        add_base_model(store, folder)


def test_real_model_tokenizer_matches_llama_cpp_after_import(real_model_dir: Path,
                                                             real_gguf: Path) -> None:
    """SmolLM2's GGUF splits digits one by one; transformers' rebuilt tokenizer did not (so
    "\\n\\n7" became two newline tokens). The import puts digit splitting back."""
    from tokenizers import Tokenizer

    from backends.lib.gguf_tokenizer import PROBES, compare

    class Fast:  # the tokenizers object, shaped like a transformers tokenizer for compare()
        def __init__(self, path: Path) -> None:
            self.inner = Tokenizer.from_file(str(path))

        def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
            return list(self.inner.encode(text, add_special_tokens=add_special_tokens).ids)

    differing, examples = compare(Fast(real_model_dir / "tokenizer.json"), real_gguf, PROBES)
    assert differing == 0, examples
    source = json.loads((real_model_dir / SOURCE_FILE).read_text())
    assert source["quant"] == "Q4_1"
    assert source["tokenizer_check"]["fixed"].startswith("split digits")
