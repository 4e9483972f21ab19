"""Export, step 5: check that the GGUF says what the Hugging Face model says.

For a few chat prompts, both tokenize the rendered template (the ids must be identical), the F16
GGUF decodes greedily, and transformers is fed that same continuation in one forward pass and
must pick the same token at each step (teacher-forced, so one early near-tie does not fail every
later token). The share of agreeing tokens is the score; agreement of the two argmaxes along one
shared trajectory is the same test whichever model drew it, and llama.cpp draws it far faster
than ``generate`` (one forward pass per prompt instead of one per token: 21.7 s of a 75 s export
on SmolLM2). Quantized files are scored the same way against the F16 GGUF's continuation.
A mismatch is reported with the first differing text, never hidden, and a failed check says
why in plain words (``CheckResult.reasons``, joined in ``summary``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_PROMPTS = (
    "Hello! Who are you?",
    "Write one sentence about the sea.",
    "What is 12 plus 30?",
)
PASS_SHARE = 0.95  # F16 vs HF: rounding to 16 bits may flip an occasional near-tie, no more


@dataclass
class CheckResult:
    """The self-check of one GGUF file, stored as JSON with the model."""

    reference: str  # "hf" (unquantized GGUF vs transformers) or "F16" (quantized vs F16 GGUF)
    share: float  # agreeing greedy tokens / tokens compared
    tokens: int
    prompts: int
    tokenizer_match: bool  # the GGUF tokenized every rendered prompt to the same ids
    identical_prompts: int  # prompts whose free-running greedy reply was token-identical
    passed: bool
    chat_template: bool  # the GGUF carries a chat template
    eos: str | None  # the end-of-turn token the GGUF stops on
    problems: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why it failed, in plain words
    # The person's own prompts and responses, tokenized by both (3 fixed prompts missed a
    # newline-before-digit drift that showed in 65 of 354 real texts).
    data_tokenization: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The stored record; ``summary`` included, so the Models page needs no backend code."""
        return {**asdict(self), "summary": self.summary}

    @property
    def summary(self) -> str:
        against = "transformers" if self.reference == "hf" else "the F16 GGUF"
        if self.passed:
            return (f"passed: {self.share:.0%} of {self.tokens} greedy tokens agree with"
                    f" {against}")
        why = "; ".join(self.reasons) or f"{self.share:.0%} of greedy tokens agree with {against}"
        return f"MISMATCH: {why}"


def explain_tokenizer(gguf_ids: list[int], hf_ids: list[int], bos: int | None,
                      piece: Callable[[int], str]) -> str:
    """Why llama.cpp's token ids differ from transformers', in words a person can act on."""
    counts = f"llama.cpp gives {len(gguf_ids)} tokens, transformers {len(hf_ids)}"
    if len(gguf_ids) == len(hf_ids) + 1 and gguf_ids[1:] == hf_ids:
        extra = "a BOS token" if gguf_ids[0] == bos else f"the token {piece(gguf_ids[0])!r}"
        return f"tokenizer differs: {counts} (llama.cpp added {extra} at the start)"
    if len(hf_ids) == len(gguf_ids) + 1 and hf_ids[1:] == gguf_ids:
        extra = "a BOS token" if hf_ids[0] == bos else f"the token {piece(hf_ids[0])!r}"
        return f"tokenizer differs: {counts} (transformers added {extra} at the start)"
    at = next((i for i, (g, h) in enumerate(zip(gguf_ids, hf_ids, strict=False)) if g != h),
              min(len(gguf_ids), len(hf_ids)))
    ours, theirs = (piece(ids[at]) if at < len(ids) else "" for ids in (gguf_ids, hf_ids))
    if at == 0 and ours[:1] in (" ", "\u2581") and theirs[:1] not in (" ", "\u2581"):
        return f"tokenizer differs: {counts} (llama.cpp added a space prefix)"
    if at == 0 and gguf_ids and gguf_ids[0] == bos:
        return f"tokenizer differs: {counts} (llama.cpp added a BOS token)"
    return (f"tokenizer differs: {counts} (first at token {at + 1}: llama.cpp {ours!r},"
            f" transformers {theirs!r})")


def render_prompts(tokenizer: Any, prompts: tuple[str, ...] | list[str]) -> list[str]:
    return [tokenizer.apply_chat_template([{"role": "user", "content": p}], tokenize=False,
                                          add_generation_prompt=True) for p in prompts]


def hf_argmax(model: Any, trajectories: list[tuple[list[int], list[int]]]) -> list[list[int]]:
    """transformers' argmax at each step of each continuation, fed the continuation."""
    import torch

    predicted: list[list[int]] = []
    for prompt_ids, continuation in trajectories:
        if not continuation:
            predicted.append([])
            continue
        with torch.no_grad():
            logits = model(torch.tensor([prompt_ids + continuation[:-1]])).logits[0]
        start = len(prompt_ids) - 1
        predicted.append(logits[start:start + len(continuation)].argmax(-1).tolist())
    return predicted


def check_f16_against_hf(
    path: Path, model: Any, tokenizer: Any, texts: list[str], max_new: int,
    metadata: dict[str, Any], threads: int | None = None,
) -> tuple[CheckResult, list[tuple[list[int], list[int]]]]:
    """Score the F16 GGUF against transformers; also return the GGUF's greedy continuations
    (the reference for quantized files and the adapter-only GGUF)."""
    found = Score()
    llm = open_gguf(path, threads)
    try:
        for number, text in enumerate(texts, 1):
            prompt_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            _compare_tokens(llm, number, text, prompt_ids, found)
            found.own.append((prompt_ids, gguf_greedy(llm, prompt_ids, max_new)))
        pieces = {t: _piece(llm, t) for _, own in found.own for t in own}
    finally:
        llm.close()
    for number, ((_, own), predicted) in enumerate(
            zip(found.own, hf_argmax(model, found.own), strict=True), 1):
        hits = sum(p == r for p, r in zip(predicted, own, strict=True))
        found.agree, found.total = found.agree + hits, found.total + len(own)
        found.identical += hits == len(own)
        if hits < len(own):
            at = next(i for i, (p, r) in enumerate(zip(predicted, own, strict=True)) if p != r)
            expected = tokenizer.decode([predicted[at]])
            found.problems.append(f"prompt {number}: first differs from transformers at token"
                                  f" {at + 1}: {expected!r} expected, {pieces[own[at]]!r}"
                                  " predicted")
    return _result(found, "hf", len(texts), metadata), found.own


def open_gguf(path: Path, threads: int | None = None, lora_path: Path | None = None) -> Any:
    from backends.chat import open_llama

    return open_llama(str(path), lora_path=str(lora_path) if lora_path else None, n_ctx=512,
                      logits_all=True, n_threads=threads, verbose=False)


def gguf_greedy(llm: Any, prompt_ids: list[int], max_new: int) -> list[int]:
    """The GGUF's own greedy continuation, ending with the end-of-turn token like HF's."""
    out: list[int] = []
    for token in llm.generate(prompt_ids, top_k=1, temp=0.0, repeat_penalty=1.0, reset=True):
        out.append(token)
        if token == llm.token_eos() or len(out) >= max_new:
            break
    return out


def teacher_forced(llm: Any, prompt_ids: list[int], continuation: list[int]) -> list[int]:
    """The GGUF's argmax at each step of ``continuation`` (fed the reference tokens)."""
    import numpy as np

    if not continuation:
        return []
    llm.reset()
    llm.eval(prompt_ids + continuation[:-1])
    start = len(prompt_ids) - 1
    scores = llm.scores[start:start + len(continuation)]
    return [int(i) for i in np.argmax(scores, axis=-1)]


@dataclass
class Score:
    """What :func:`score` found for one GGUF."""

    agree: int = 0
    total: int = 0
    tokenizer_why: str | None = None  # why the tokenizer differs, or None
    identical: int = 0
    problems: list[str] = field(default_factory=list)
    # The GGUF's own free-running greedy continuation per prompt: the reference that quantized
    # files are checked against, computed once here rather than decoded a second time.
    own: list[tuple[list[int], list[int]]] = field(default_factory=list)


def score(
    llm: Any, texts: list[str], references: list[tuple[list[int], list[int]]], label: str,
) -> Score:
    """Teacher-forced agreement with ``references`` and the GGUF's own greedy replies."""
    result = Score()
    problems = result.problems
    pairs = zip(texts, references, strict=True)
    for number, (text, (prompt_ids, reference)) in enumerate(pairs, 1):
        _compare_tokens(llm, number, text, prompt_ids, result)
        predicted = teacher_forced(llm, prompt_ids, reference)
        hits = sum(p == r for p, r in zip(predicted, reference, strict=True))
        result.agree, result.total = result.agree + hits, result.total + len(reference)
        if hits < len(reference):
            at = next(i for i, (p, r) in enumerate(zip(predicted, reference, strict=True))
                      if p != r)
            problems.append(f"prompt {number}: first differs from {label} at token {at + 1}:"
                            f" {_piece(llm, reference[at])!r} expected,"
                            f" {_piece(llm, predicted[at])!r} predicted")
        own = gguf_greedy(llm, prompt_ids, len(reference))
        result.identical += own == reference
        result.own.append((prompt_ids, own))
    return result


def _compare_tokens(llm: Any, number: int, text: str, prompt_ids: list[int],
                    found: Score) -> None:
    """Note in ``found`` when the GGUF tokenizes a rendered prompt differently."""
    gguf_ids = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    if gguf_ids != prompt_ids:
        why = explain_tokenizer(gguf_ids, prompt_ids, llm.token_bos(), lambda t: _piece(llm, t))
        found.tokenizer_why = found.tokenizer_why or why
        found.problems.append(f"prompt {number}: {why}")


def _piece(llm: Any, token: int) -> str:
    return llm.detokenize([token], special=True).decode("utf-8", errors="replace")


def check_gguf(
    path: Path, texts: list[str], references: list[tuple[list[int], list[int]]],
    reference: str, metadata: dict[str, Any], threads: int | None = None,
    lora_path: Path | None = None,
) -> tuple[CheckResult, list[tuple[list[int], list[int]]]]:
    """Score one GGUF (or base GGUF + LoRA GGUF); also return its own greedy continuations."""
    llm = open_gguf(path, threads, lora_path)
    try:
        found = score(llm, texts, references, "transformers" if reference == "hf" else "F16")
    finally:
        llm.close()
    return _result(found, reference, len(texts), metadata), found.own


def _result(found: Score, reference: str, prompts: int, metadata: dict[str, Any]) -> CheckResult:
    share = found.agree / found.total if found.total else 1.0
    template = bool(metadata.get("chat_template"))
    if not template:
        found.problems.append("the GGUF has no chat template: chat apps will format turns"
                              " wrongly")
    reasons = failure_reasons(share, reference, found.tokenizer_why, template)
    return CheckResult(reference, round(share, 4), found.total, prompts,
                       found.tokenizer_why is None, found.identical, not reasons, template,
                       metadata.get("eos"), found.problems, reasons)


def check_data_tokenization(result: CheckResult, gguf: Path, tokenizer: Any,
                            texts: list[str]) -> CheckResult:
    """Add to ``result`` how many of ``texts`` the GGUF tokenizes differently from
    transformers; any difference fails the check, with the share and an example."""
    from backends.lib.gguf_tokenizer import compare

    sample = [t for t in texts if t.strip()]
    if not sample:
        return result
    differing, examples = compare(tokenizer, gguf, sample)
    result.data_tokenization = {"texts": len(sample), "differing": differing,
                                "share": round(differing / len(sample), 4),
                                "examples": examples}
    if differing:
        why = (f"tokenizer differs on {differing} of {len(sample)} of your texts"
               f" ({differing / len(sample):.0%}), e.g. {examples[0]}")
        result.reasons.append(why)
        result.problems.append(why)
        result.passed = False
    return result


def failure_reasons(share: float, reference: str, tokenizer_why: str | None,
                    template: bool) -> list[str]:
    """Why a check fails, one plain sentence each; empty when it passes.

    Only the check against transformers has a share threshold: a quantized file is expected to
    drift from F16, its share is information, not a verdict.
    """
    reasons = [tokenizer_why] if tokenizer_why else []
    if reference == "hf" and share < PASS_SHARE:
        # Floored: 94.8% must not read "95% (below 95%)".
        reasons.append(f"greedy tokens agree {int(share * 100)}% (below {PASS_SHARE:.0%})")
    if not template:
        reasons.append("the GGUF has no chat template (chat apps would format turns wrongly)")
    return reasons
