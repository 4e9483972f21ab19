"""A run reports what it really trains on: long DPO prompts are cut from the left by us (not by
TRL's deprecated keep_end), and no pair is dropped."""

from __future__ import annotations

import warnings
from pathlib import Path

from studio.training.config import TrainConfig

LONG = "Tell me about the weather in the mountains today. " * 8


def _rows(n: int) -> list[dict]:
    return [{"prompt": [{"role": "user", "content": f"{LONG} ({i}) What now?"}],
             "chosen": [{"role": "assistant", "content": "Answer: sunny. — Done."}],
             "rejected": [{"role": "assistant", "content": "It is sunny."}]} for i in range(n)]


def test_dpo_keeps_pairs_whose_prompt_fills_max_length(demo_model_dir: Path,
                                                       tmp_path: Path) -> None:
    from datasets import Dataset

    from backends.lib import train_setup as setup

    rows = _rows(4)
    config = TrainConfig.for_method("dpo", str(demo_model_dir), max_length=32, max_steps=1)
    hardware = setup.resolve_hardware(config)
    tokenizer = setup.load_tokenizer(config)
    train = Dataset.from_list(rows)
    args = setup.common_args(config, hardware, tmp_path, len(train), has_eval=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*keep_end.*deprecated")
        trainer, extra = setup.BUILDERS["dpo"](config, setup.load_model(config, hardware),
                                               tokenizer, train, Dataset.from_list(rows[:2]),
                                               args)
    prompt_ids = tokenizer.apply_chat_template(rows[0]["prompt"])["input_ids"]
    assert len(prompt_ids) > 32  # the prompt alone is longer than max_length
    assert "truncation_mode" not in extra  # TRL's default keep_start
    counts = setup.trained_counts(trainer, train, Dataset.from_list(rows[:2]), None)
    assert counts["train"] == 4
    assert counts["train_dropped"] == 0
    assert counts["eval"] == 2
    assert counts["train_prompts_shortened"] == 4
    assert counts["eval_prompts_shortened"] == 2
    batch = trainer.data_collator([trainer.train_dataset[0]])
    # The whole answer survives and the prompt keeps its most recent words.
    assert batch["input_ids"].shape[1] <= 32
    assert int(batch["completion_mask"][0, -1]) == 1
    kept = trainer.train_dataset[0]
    assert len(kept["prompt_ids"]) < 32
    assert "What now?" in tokenizer.decode(kept["prompt_ids"])


def test_fit_pairs_cuts_the_oldest_turns_first_and_keeps_short_prompts(
        demo_model_dir: Path) -> None:
    from transformers import AutoTokenizer

    from backends.lib.train_prompts import fit_pairs, prompt_budget, prompt_length

    tokenizer = AutoTokenizer.from_pretrained(demo_model_dir)
    short = {"prompt": [{"role": "user", "content": "Hi?"}],
             "chosen": [{"role": "assistant", "content": "Hello."}],
             "rejected": [{"role": "assistant", "content": "Go away."}]}
    history = {**short, "prompt": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": LONG}, {"role": "assistant", "content": LONG},
        {"role": "user", "content": "And tomorrow?"}]}
    fitted = fit_pairs([short, history], tokenizer, max_length=48)
    assert fitted.shortened == 1
    assert fitted.rows[0] == short  # a prompt that fits is left exactly as it was
    cut = fitted.rows[1]["prompt"]
    assert cut == [history["prompt"][0], history["prompt"][-1]]  # system + the last question
    assert prompt_length(tokenizer, cut) <= prompt_budget(48, 8)
    assert fit_pairs([history], tokenizer, max_length=None).shortened == 0


def test_preflight_names_the_sft_examples_trl_will_drop(demo_model_dir: Path,
                                                         tmp_path: Path) -> None:
    """Pre-flight said "22 will be truncated" and the run "11 dropped": TRL cuts an SFT
    example's end and then drops those left with no answer token (the prompt alone fills
    max_length). Pre-flight now says which, and its count is the run's."""
    from datasets import Dataset

    from backends.lib import train_setup as setup
    from studio.training.preflight import check_lengths

    def row(question: str, answer: str) -> dict:
        return {"messages": [{"role": "user", "content": question},
                             {"role": "assistant", "content": answer}]}

    rows = ([row(f"{LONG} ({i})", "Sunny.") for i in range(3)]  # the prompt fills it
            + [row("Weather?", f"{LONG} ({i})") for i in range(2)]  # the answer is cut
            + [row("Hi?", "Hello.")])
    config = TrainConfig.for_method("sft", str(demo_model_dir), max_length=48, max_steps=1)
    hardware = setup.resolve_hardware(config)
    train = Dataset.from_list(rows)
    args = setup.common_args(config, hardware, tmp_path, len(train), has_eval=False)
    trainer, _ = setup.BUILDERS["sft"](config, setup.load_model(config, hardware),
                                       setup.load_tokenizer(config), train, None, args)
    counts = setup.trained_counts(trainer, train, None, None)
    assert (counts["train"], counts["train_dropped"]) == (3, 3)
    (warning,) = check_lengths(config, rows, demo_model_dir)
    assert warning.message.startswith("5 of 6 training examples are longer than max_length 48")
    assert f"{counts['train_dropped']} will be dropped" in warning.message
    assert "2 trained with their end cut" in warning.message
