"""Does the converted tokenizer split text the way the GGUF's own (llama.cpp) tokenizer does?

transformers rebuilds a tokenizer from the GGUF's vocabulary and merges, but not from its
pre-tokenizer name: SmolLM2's ``smollm`` pre-tokenizer splits digits one by one, and the
rebuilt one does not, so "\\n\\n7" becomes two newline tokens instead of one (the model never
saw that in training). We compare token ids on real text and, where digit splitting is what is
missing, put it back and compare again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.db.store import Store
from studio.registry.gguf_import import recent_texts

# Short texts that exercise the usual drifts: digits after newlines and spaces, unicode,
# leading spaces, code. They are checked besides the project's own prompts and responses.
PROBES = [
    "What is the capital of France?", "x\n\n7 days", "Year 2024 and\n12345 items",
    " leading space", "café ünïcode 3.14159", "def f(x):\n    return x * 2\n",
    "Total: $1,234.56\n\n1. first\n2. second", "😀 emoji and 中文 text",
]


@dataclass(frozen=True)
class TokenizerCheck:
    texts: int
    differing: int  # after the fix, if one was made
    before: int  # before any fix
    fixed: str | None  # what was changed to make them agree, if anything
    examples: list[str]

    @property
    def share(self) -> float:
        return self.differing / self.texts if self.texts else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"texts": self.texts, "differing": self.differing,
                "differing_before_fix": self.before, "share": round(self.share, 4),
                "fixed": self.fixed, "examples": self.examples}


def compare(tokenizer: Any, gguf: Path, texts: list[str]) -> tuple[int, list[str]]:
    """How many texts tokenize differently (no special tokens added), and a few of them."""
    from llama_cpp import Llama

    llm = Llama(str(gguf), vocab_only=True, verbose=False)
    try:
        differing = [t for t in texts if tokenizer.encode(t, add_special_tokens=False)
                     != llm.tokenize(t.encode("utf-8"), add_bos=False, special=False)]
    finally:
        llm.close()
    return len(differing), [repr(t[:60]) for t in differing[:3]]


def check_and_fix(tokenizer: Any, gguf: Path, texts: list[str]) -> TokenizerCheck:
    """Compare on ``PROBES`` + ``texts``; where they differ, try each known fix and keep the
    ones that make fewer texts differ."""
    sample = PROBES + [t for t in texts if t.strip()]
    before, examples = compare(tokenizer, gguf, sample)
    differing, applied = before, []
    for description, fix in FIXES:
        if not differing:
            break
        original = tokenizer.backend_tokenizer.pre_tokenizer
        if not fix(tokenizer):
            continue
        now, now_examples = compare(tokenizer, gguf, sample)
        if now < differing:
            differing, examples = now, now_examples
            applied.append(description)
        else:
            tokenizer.backend_tokenizer.pre_tokenizer = original  # no better: undo
    return TokenizerCheck(len(sample), differing, before, "; ".join(applied) or None,
                          examples if differing else [])


def _no_space_prefix(tokenizer: Any) -> bool:
    """SentencePiece GGUFs saved with ``add_space_prefix = false`` (our own exports, many
    chat models) come back from transformers with a Metaspace that prepends "▁" anyway."""
    from tokenizers import pre_tokenizers

    backend = getattr(tokenizer, "backend_tokenizer", None)
    current = getattr(backend, "pre_tokenizer", None)
    if not isinstance(current, pre_tokenizers.Metaspace) or current.prepend_scheme == "never":
        return False
    backend.pre_tokenizer = pre_tokenizers.Metaspace(  # type: ignore[union-attr]
        replacement=current.replacement, prepend_scheme="never", split=current.split)
    return True


def _add_digit_split(tokenizer: Any) -> bool:
    from tokenizers import pre_tokenizers

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or backend.pre_tokenizer is None:
        return False
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), backend.pre_tokenizer])
    return True


def project_texts(db: str | Path | None, limit: int) -> list[str]:
    """Up to ``limit`` of the project's own prompts and responses (newest first)."""
    if not db or not Path(db).is_file() or limit <= 0:
        return []
    store = Store.open(db)
    try:
        return recent_texts(store, limit)
    finally:
        store.close()


FIXES = (("split digits one by one, as the GGUF does", _add_digit_split),
         ("no space prefix, as the GGUF says", _no_space_prefix))
