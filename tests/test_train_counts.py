"""A run reports what it really trains on: long DPO pairs are cut from the left, not dropped."""

from __future__ import annotations

from pathlib import Path

from studio.training.config import TrainConfig


def test_dpo_keeps_pairs_whose_prompt_fills_max_length(demo_model_dir: Path,
                                                       tmp_path: Path) -> None:
    from datasets import Dataset

    from backends import train_setup as setup

    long_prompt = "Tell me about the weather in the mountains today. " * 8
    rows = [{"prompt": [{"role": "user", "content": f"{long_prompt} ({i})"}],
             "chosen": [{"role": "assistant", "content": "Answer: sunny. — Done."}],
             "rejected": [{"role": "assistant", "content": "It is sunny."}]} for i in range(4)]
    config = TrainConfig.for_method("dpo", str(demo_model_dir), max_length=32, max_steps=1)
    hardware = setup.resolve_hardware(config)
    tokenizer = setup.load_tokenizer(config)
    train = Dataset.from_list(rows)
    args = setup.common_args(config, hardware, tmp_path, len(train), has_eval=True)
    trainer, extra = setup.BUILDERS["dpo"](config, setup.load_model(config, hardware),
                                           tokenizer, train, Dataset.from_list(rows[:2]), args)
    prompt_ids = tokenizer.apply_chat_template(rows[0]["prompt"])["input_ids"]
    assert len(prompt_ids) > 32  # the prompt alone is longer than max_length
    assert extra["truncation_mode"] == "keep_end"
    counts = setup.trained_counts(trainer, train, trainer.eval_dataset, None)
    assert counts["train"] == 4
    assert counts["train_dropped"] == 0
    batch = trainer.data_collator([trainer.train_dataset[0]])
    # The answer's end survives the cut: the last kept token is still an answer token.
    assert batch["input_ids"].shape[1] <= 32
    assert int(batch["completion_mask"][0, -1]) == 1
