"""The export self-check says why it failed, in plain words (real llama.cpp, tiny model)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_export_helpers import shared_exports

from backends.lib.export_pipeline import selfcheck_summary
from backends.lib.export_selfcheck import (
    DEFAULT_PROMPTS,
    check_gguf,
    explain_tokenizer,
    failure_reasons,
    gguf_greedy,
    open_gguf,
    render_prompts,
)

BOS = 1
PIECES = {1: "<s>", 5: "Hello", 6: "\u2581Hello", 7: " world", 8: "!"}


def _piece(token: int) -> str:
    return PIECES.get(token, f"<{token}>")


def test_tokenizer_differences_are_explained() -> None:
    assert explain_tokenizer([1, 5, 7], [5, 7], BOS, _piece) == (
        "tokenizer differs: llama.cpp gives 3 tokens, transformers 2"
        " (llama.cpp added a BOS token at the start)")
    assert "(transformers added a BOS token at the start)" in explain_tokenizer(
        [5, 7], [1, 5, 7], BOS, _piece)
    assert "(llama.cpp added a space prefix)" in explain_tokenizer([6, 7], [5, 7], BOS, _piece)
    assert explain_tokenizer([5, 8], [5, 7, 8], BOS, _piece) == (
        "tokenizer differs: llama.cpp gives 2 tokens, transformers 3"
        " (first at token 2: llama.cpp '!', transformers ' world')")


def test_failure_reasons_in_plain_words() -> None:
    assert failure_reasons(0.99, "hf", None, True) == []
    assert failure_reasons(0.62, "hf", None, True) == ["greedy tokens agree 62% (below 95%)"]
    assert failure_reasons(0.948, "hf", None, True) == ["greedy tokens agree 94% (below 95%)"]
    assert failure_reasons(0.40, "F16", None, True) == []  # quantized drift is not a failure
    assert "no chat template" in failure_reasons(1.0, "hf", None, False)[0]


@pytest.fixture(scope="module")
def base_case(demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The base F16 GGUF, a rendered prompt, its ids and the GGUF's own greedy reply."""
    from transformers import AutoTokenizer

    gguf = shared_exports(tmp_path_factory, demo_model_dir)["base"]
    texts = render_prompts(AutoTokenizer.from_pretrained(demo_model_dir), DEFAULT_PROMPTS[:2])
    llm = open_gguf(gguf)
    try:
        refs = [(ids, gguf_greedy(llm, ids, 8)) for ids in (
            llm.tokenize(t.encode(), add_bos=False, special=True) for t in texts)]
        bos_text = llm.detokenize([llm.token_bos()], special=True).decode()
    finally:
        llm.close()
    return gguf, texts, refs, bos_text


def test_real_checks_say_why(base_case: tuple) -> None:
    gguf, texts, refs, bos_text = base_case
    meta = {"chat_template": "{{ messages }}", "eos": "<|im_end|>"}
    good, _ = check_gguf(gguf, texts, refs, "hf", meta, threads=1)
    assert good.passed
    assert good.summary.startswith("passed: 100% of")
    # The GGUF's tokenizer adds a BOS that transformers never had.
    bad_tokens, _ = check_gguf(gguf, [bos_text + t for t in texts], refs, "hf", meta, threads=1)
    assert not bad_tokens.passed
    count = len(refs[0][0])
    assert bad_tokens.summary == (
        f"MISMATCH: tokenizer differs: llama.cpp gives {count + 1} tokens, transformers"
        f" {count} (llama.cpp added a BOS token at the start)")
    assert bad_tokens.as_dict()["summary"] == bad_tokens.summary  # stored with the model
    # References the model would never pick: the share falls below the bar, and says so.
    wrong = [(ids, [(t + 7) % 500 + 10 for t in reply]) for ids, reply in refs]
    bad_share, _ = check_gguf(gguf, texts, wrong, "hf", {**meta, "chat_template": None},
                              threads=1)
    assert not bad_share.passed
    assert "% (below 95%)" in bad_share.summary
    assert "greedy tokens agree" in bad_share.summary
    assert "no chat template" in bad_share.summary
    files = [{"quant": "F16", "selfcheck": good.as_dict()},
             {"quant": "Q4_K_M", "selfcheck": bad_tokens.as_dict()},
             {"quant": "Q8_0", "selfcheck": good.as_dict()}]
    summary = selfcheck_summary(files, None)
    assert summary.startswith("F16 passed: 100%")
    assert "Q4_K_M MISMATCH: tokenizer differs" in summary
    assert "Q8_0" not in summary  # only failures besides F16 are named
