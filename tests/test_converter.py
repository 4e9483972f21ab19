"""llama.cpp's GGUF converter: unpacking the sdist safely, and a real conversion of the demo model
that llama.cpp tokenizes and decodes exactly like transformers."""

from __future__ import annotations

import importlib.metadata
import io
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from backends.demo_model import build_demo_model
from studio.paths import CACHE_DIR_ENV
from studio.registry import converter
from studio.registry.converter import (
    ConverterArchiveError,
    ConverterUnavailableError,
    convert_command,
    convert_lora_command,
    converter_dir,
    converter_env,
    extract_converter,
    installed_llama_cpp_version,
    is_prepared,
    prepare_converter,
)

VENDOR = "llama_cpp_python-9.9.9/vendor/llama.cpp"
MINIMAL_SDIST = {
    f"{VENDOR}/convert_hf_to_gguf.py": "# converter",
    f"{VENDOR}/convert_lora_to_gguf.py": "# lora converter",
    f"{VENDOR}/conversion/__init__.py": "",
    f"{VENDOR}/conversion/llama.py": "# llama",
    f"{VENDOR}/conversion/__pycache__/llama.cpython-311.pyc": "junk",
    f"{VENDOR}/gguf-py/gguf/__init__.py": "",
    f"{VENDOR}/models/templates/chatml.jinja": "{{ messages }}",
    f"{VENDOR}/models/ggml-vocab-llama-spm.gguf": "large and unused",
    f"{VENDOR}/src/llama.cpp": "// C++ sources",
    "llama_cpp_python-9.9.9/pyproject.toml": "",
}
CHAT = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Héllo, wörld! 你好 🙂 ∑x² — «ok»\n    def f(x):  return 42"},
    {"role": "assistant", "content": "Sure: 3.14"},
    {"role": "user", "content": "Again?"},
]


def write_sdist(path: Path, files: dict[str, str], links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return path


@pytest.fixture
def tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv(CACHE_DIR_ENV, str(cache))
    return cache


# --- unpacking, with a small fake sdist -------------------------------------------------------


def test_extracts_only_the_converter_files(tmp_path: Path) -> None:
    sdist = write_sdist(tmp_path / "fake.tar.gz", MINIMAL_SDIST)
    extract_converter(sdist, tmp_path / "out")
    found = {p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")}
    assert {f for f in found if (tmp_path / "out" / f).is_file()} == {
        "convert_hf_to_gguf.py",
        "convert_lora_to_gguf.py",
        "conversion/__init__.py",
        "conversion/llama.py",
        "gguf-py/gguf/__init__.py",
        "models/templates/chatml.jinja",
    }


@pytest.mark.parametrize(
    "evil",
    [
        f"{VENDOR}/conversion/../../../../escaped.py",
        f"{VENDOR}/gguf-py/../../../../../tmp/escaped.py",
    ],
)
def test_refuses_paths_that_leave_the_folder(tmp_path: Path, evil: str) -> None:
    sdist = write_sdist(tmp_path / "evil.tar.gz", {**MINIMAL_SDIST, evil: "boom"})
    with pytest.raises(ConverterArchiveError, match="unsafe path"):
        extract_converter(sdist, tmp_path / "out")
    assert not list(tmp_path.rglob("escaped.py"))


def test_refuses_links(tmp_path: Path) -> None:
    links = {f"{VENDOR}/conversion/evil.py": "/etc/passwd"}
    sdist = write_sdist(tmp_path / "link.tar.gz", MINIMAL_SDIST, links)
    with pytest.raises(ConverterArchiveError, match="link"):
        extract_converter(sdist, tmp_path / "out")


def test_names_what_the_sdist_lacks(tmp_path: Path) -> None:
    files = {k: v for k, v in MINIMAL_SDIST.items() if "convert_lora" not in k}
    sdist = write_sdist(tmp_path / "partial.tar.gz", files)
    with pytest.raises(ConverterArchiveError, match=r"convert_lora_to_gguf\.py"):
        extract_converter(sdist, tmp_path / "out")
    no_vendor = write_sdist(tmp_path / "other.tar.gz", {"pkg-1/setup.py": ""})
    with pytest.raises(ConverterArchiveError, match=r"convert_hf_to_gguf\.py"):
        extract_converter(no_vendor, tmp_path / "out2")


def test_refuses_an_sdist_of_another_version(tmp_path: Path, tmp_cache: Path) -> None:
    sdist = write_sdist(tmp_path / "fake.tar.gz", MINIMAL_SDIST)
    with pytest.raises(ConverterArchiveError, match=r"not llama-cpp-python 1\.0\.0"):
        prepare_converter("1.0.0", sdist=sdist)
    assert not is_prepared("1.0.0")


def test_prepare_from_a_given_sdist_is_idempotent(tmp_path: Path, tmp_cache: Path) -> None:
    sdist = write_sdist(tmp_path / "fake.tar.gz", MINIMAL_SDIST)
    assert not is_prepared("9.9.9")
    folder = prepare_converter("9.9.9", sdist=sdist)
    assert folder == converter_dir("9.9.9") == tmp_cache / "llama.cpp-9.9.9"
    assert (folder / "VERSION").read_text().strip() == "9.9.9"
    assert is_prepared("9.9.9")
    (folder / "conversion" / "llama.py").write_text("# edited")
    assert prepare_converter("9.9.9", sdist=tmp_path / "missing.tar.gz") == folder
    assert (folder / "conversion" / "llama.py").read_text() == "# edited"
    prepare_converter("9.9.9", force=True, sdist=sdist)
    assert (folder / "conversion" / "llama.py").read_text() == "# llama"
    assert [p.name for p in tmp_cache.iterdir()] == ["llama.cpp-9.9.9"]


def test_a_failed_download_says_why(tmp_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert command[1:4] == ["-m", "pip", "download"]
        return subprocess.CompletedProcess(command, 1, "", "ERROR: network is unreachable")

    monkeypatch.setattr(converter.subprocess, "run", offline)
    with pytest.raises(ConverterUnavailableError, match="network is unreachable"):
        prepare_converter("9.9.9")
    assert not is_prepared("9.9.9")
    assert not any(tmp_cache.iterdir())


def test_commands_need_a_prepared_converter(tmp_cache: Path) -> None:
    with pytest.raises(ConverterUnavailableError, match=r"studio\.registry\.converter prepare"):
        convert_command("model", "out.gguf")


def test_commands_and_environment(tmp_path: Path, tmp_cache: Path) -> None:
    prepare_converter("9.9.9", sdist=write_sdist(tmp_path / "fake.tar.gz", MINIMAL_SDIST))
    folder = converter_dir("9.9.9")
    command = convert_command("m", "o.gguf", "q8_0", version="9.9.9")
    assert command == [
        sys.executable,
        str(folder / "convert_hf_to_gguf.py"),
        "m",
        "--outtype",
        "q8_0",
        "--outfile",
        "o.gguf",
    ]
    lora = convert_lora_command("base", "adapter", "l.gguf", version="9.9.9")
    assert lora[lora.index("--base") + 1] == "base"
    assert lora[-1] == "adapter"
    with pytest.raises(ValueError, match="outtype"):
        convert_command("m", "o.gguf", "q4_k_m", version="9.9.9")
    env = converter_env("9.9.9", base={"PYTHONPATH": "elsewhere", "NO_LOCAL_GGUF": "1"})
    assert env["PYTHONPATH"] == os.pathsep.join([str(folder / "gguf-py"), "elsewhere"])
    assert "NO_LOCAL_GGUF" not in env


def test_version_is_read_without_importing_llama_cpp() -> None:
    code = (
        "import sys; from studio.registry.converter import installed_llama_cpp_version as v; "
        "print(v()); assert 'llama_cpp' not in sys.modules and 'torch' not in sys.modules"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == installed_llama_cpp_version()
    assert installed_llama_cpp_version() == importlib.metadata.version("llama-cpp-python")


# --- the real converter, fetched with pip, on the demo model ----------------------------------


@pytest.fixture(scope="session")
def real_converter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The converter for the installed llama-cpp-python, downloaded into a fresh cache."""
    cache = tmp_path_factory.mktemp("converter-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, str(cache))
        started = time.monotonic()
        prepare_converter()
        sys.stderr.write(f"prepare_converter took {time.monotonic() - started:.1f} s\n")
    return cache


def run_converter(command: list[str], cache: Path) -> None:
    env = converter_env(base={**os.environ, CACHE_DIR_ENV: str(cache)})
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="session")
def demo_gguf(real_converter: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The demo model and its F16 GGUF, converted by llama.cpp's own script."""
    model_dir = build_demo_model(tmp_path_factory.mktemp("demo-model"))
    gguf = tmp_path_factory.mktemp("gguf") / "demo-f16.gguf"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_DIR_ENV, str(real_converter))
        command = convert_command(model_dir, gguf, "f16")
    run_converter(command, real_converter)
    return model_dir, gguf


def hf_greedy(
    model_dir: Path, ids: list[int], steps: int, adapter: Path | None = None
) -> list[int]:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    with torch.no_grad():
        out = model.eval().generate(torch.tensor([ids]), max_new_tokens=steps, do_sample=False)
    return out[0, len(ids) :].tolist()


def llama_greedy(gguf: Path, ids: list[int], steps: int, lora: Path | None = None) -> list[int]:
    from llama_cpp import Llama

    llm = Llama(
        model_path=str(gguf),
        lora_path=str(lora) if lora else None,
        n_ctx=256,
        n_threads=2,
        verbose=False,
    )
    try:
        tokens = []
        for token in llm.generate(ids, top_k=1, temp=0.0, repeat_penalty=1.0):
            tokens.append(token)
            if len(tokens) == steps:
                break
        return tokens
    finally:
        llm.close()


def chat_prompt_ids(model_dir: Path) -> list[int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    text = tokenizer.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)
    return tokenizer.encode(text, add_special_tokens=False)


def test_llama_cpp_tokenizes_like_transformers(demo_gguf: tuple[Path, Path]) -> None:
    from llama_cpp import Llama
    from transformers import AutoTokenizer

    model_dir, gguf = demo_gguf
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    text = tokenizer.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)
    llm = Llama(model_path=str(gguf), n_ctx=256, verbose=False)
    try:
        ids = llm.tokenize(text.encode(), add_bos=False, special=True)
        assert ids == tokenizer.encode(text, add_special_tokens=False)
        assert llm.detokenize(ids, special=True).decode() == text
        assert llm.token_eos() == tokenizer.eos_token_id
        assert llm.metadata["tokenizer.chat_template"] == tokenizer.chat_template
    finally:
        llm.close()


def test_llama_cpp_greedy_matches_transformers(demo_gguf: tuple[Path, Path]) -> None:
    model_dir, gguf = demo_gguf
    ids = chat_prompt_ids(model_dir)
    assert llama_greedy(gguf, ids, 12) == hf_greedy(model_dir, ids, 12)


def test_llama_cpp_chat_uses_the_stored_template(demo_gguf: tuple[Path, Path]) -> None:
    from llama_cpp import Llama

    llm = Llama(model_path=str(demo_gguf[1]), n_ctx=256, verbose=False)
    try:
        reply = llm.create_chat_completion(messages=CHAT, max_tokens=4, temperature=0.0)
    finally:
        llm.close()
    assert reply["choices"][0]["finish_reason"] in ("length", "stop")


def test_lora_adapter_converts_and_matches_the_merged_model(
    demo_gguf: tuple[Path, Path],
    real_converter: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model_dir, gguf = demo_gguf
    torch.manual_seed(1)
    # Random (not zero) B matrices, so the adapter visibly changes the output.
    lora = LoraConfig(
        task_type="CAUSAL_LM", r=8, target_modules="all-linear", init_lora_weights=False
    )
    peft_model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_dir), lora)
    peft_model.save_pretrained(tmp_path / "adapter")
    lora_gguf = tmp_path / "lora.gguf"
    monkeypatch.setenv(CACHE_DIR_ENV, str(real_converter))
    run_converter(convert_lora_command(model_dir, tmp_path / "adapter", lora_gguf), real_converter)
    ids = chat_prompt_ids(model_dir)
    merged = hf_greedy(model_dir, ids, 8, adapter=tmp_path / "adapter")
    assert merged != hf_greedy(model_dir, ids, 8)
    assert llama_greedy(gguf, ids, 8, lora=lora_gguf) == merged


def test_prepare_cli_reports_the_folder(real_converter: Path) -> None:
    env = {**os.environ, CACHE_DIR_ENV: str(real_converter)}
    out = subprocess.run(
        [sys.executable, "-m", "studio.registry.converter", "prepare"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert Path(out.stdout.strip()) == real_converter / f"llama.cpp-{installed_llama_cpp_version()}"
