"""SFT puts its loss on the answers only, with real chat templates that have no
``{% generation %}`` markers (SmolLM2's) as well as with the demo model's marked template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

CONVERSATION = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "What is the capital of Peru?"},
                {"role": "assistant", "content": "Answer: Lima. — Done."}]


def loss_text(model_dir: Path, tokenizer_dir: Path, tmp_path: Path) -> tuple[str, str, Any]:
    """What SFT trains on (decoded tokens whose label is not -100) and the full rendering."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from backends.lib.train_setup import answer_only

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    dataset, extra = answer_only(Dataset.from_list([{"messages": CONVERSATION}]), tokenizer)
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(str(model_dir)),
        args=SFTConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none",
                       max_length=256, **extra),
        train_dataset=dataset, processing_class=tokenizer)
    row = trainer.train_dataset[0]
    ids = row["input_ids"]
    if "assistant_masks" in row:
        kept = [i for i, m in zip(ids, row["assistant_masks"], strict=True) if m]
    else:
        kept = [i for i, label in zip(ids, row["labels"], strict=True) if label != -100]
    return tokenizer.decode(kept), tokenizer.decode(ids), tokenizer


def test_real_template_without_markers_trains_on_the_answer_only(
        real_model_dir: Path, demo_model_dir: Path, tmp_path: Path) -> None:
    # The tiny model stands in for the weights: only SmolLM2's tokenizer and template matter.
    kept, full, tokenizer = loss_text(demo_model_dir, real_model_dir, tmp_path)
    assert "{% generation %}" not in tokenizer.chat_template
    assert kept == "Answer: Lima. — Done.<|im_end|>\n"  # the answer and the template's EOS
    # What training sees is exactly what the base model's own template renders (chat, export).
    assert full == tokenizer.apply_chat_template(CONVERSATION, tokenize=False)


def test_marked_template_keeps_assistant_only_loss(demo_model_dir: Path, tmp_path: Path) -> None:
    kept, _, _ = loss_text(demo_model_dir, demo_model_dir, tmp_path)
    assert kept.startswith("Answer: Lima. — Done.")
    assert "capital" not in kept


def test_a_conversation_must_end_with_an_answer() -> None:
    from backends.lib.train_setup import SetupError, as_prompt_completion

    with pytest.raises(SetupError, match="assistant answer"):
        as_prompt_completion([{"messages": CONVERSATION[:2]}])
