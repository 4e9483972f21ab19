"""A verifiable behaviour a real instruct model does not show: every answer starts with
``Answer:`` and ends with ``— Done.``. Labels are made the way a person makes them (gold
answers, thumbs, pairs against the plain answer the model gives by itself), and the pass rate
is measured on held-out prompts the model never trained on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from studio.db.store import Store

PREFIX, SUFFIX = "Answer:", "— Done."
ANNOTATOR = "rule-labeler"

CAPITALS = [("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Spain", "Madrid"),
            ("Germany", "Berlin"), ("Canada", "Ottawa"), ("Egypt", "Cairo"),
            ("Kenya", "Nairobi"), ("Peru", "Lima"), ("Norway", "Oslo"), ("Greece", "Athens"),
            ("Cuba", "Havana"), ("Chile", "Santiago"), ("Austria", "Vienna"),
            ("Poland", "Warsaw"), ("Ireland", "Dublin"), ("Portugal", "Lisbon"),
            ("Sweden", "Stockholm"), ("Finland", "Helsinki"), ("Denmark", "Copenhagen"),
            ("Hungary", "Budapest"), ("Belgium", "Brussels"), ("Thailand", "Bangkok"),
            ("Vietnam", "Hanoi"), ("Argentina", "Buenos Aires"), ("Russia", "Moscow"),
            ("China", "Beijing"), ("India", "New Delhi"), ("Mexico", "Mexico City"),
            ("Turkey", "Ankara")]
THINGS = [("grass", "green"), ("snow", "white"), ("the sky on a clear day", "blue"),
          ("a ripe banana", "yellow"), ("coal", "black"), ("a ripe tomato", "red"),
          ("an orange", "orange"), ("milk", "white"), ("a lemon", "yellow"),
          ("a strawberry", "red")]


def _examples() -> list[tuple[str, str]]:
    out = [(f"What is the capital of {country}?", f"The capital of {country} is {city}.")
           for country, city in CAPITALS]
    out += [(f"What colour is {thing}?", f"{thing[0].upper() + thing[1:]} is {colour}.")
            for thing, colour in THINGS]
    out += [(f"What is {a} plus {b}?", f"{a} plus {b} is {a + b}.")
            for a, b in [(2, 3), (7, 5), (12, 9), (20, 22), (8, 8), (15, 4), (31, 11),
                         (6, 9), (40, 2), (13, 13)]]
    return out


def split(held_out: int = 20) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, held-out) pairs of (question, plain answer); every third one is held out, so
    both halves mix capitals, colours and sums."""
    examples = _examples()
    test = examples[::3][:held_out]
    return [e for e in examples if e not in test], test


def rule_answer(plain: str) -> str:
    return f"{PREFIX} {plain} {SUFFIX}"


def passes(text: str) -> bool:
    text = text.strip()
    return text.startswith(PREFIX) and text.endswith(SUFFIX)


def label(store: Store, examples: Iterable[tuple[str, str]]) -> None:
    """A person following the rule: the gold answer, a thumb on each answer, and a pair
    preferring the rule answer to the plain one the model gives by itself."""
    for question, plain in examples:
        prompt_id = store.add_prompt(question, source="rule-task")
        plain_id = store.add_response(prompt_id, plain, origin="model")
        gold = store.label_gold(prompt_id, rule_answer(plain), ANNOTATOR)
        good_id = gold.response_id or 0
        store.label_pair(good_id, plain_id, "left", ANNOTATOR)
        store.label_thumb(good_id, "up", ANNOTATOR)
        store.label_thumb(plain_id, "down", ANNOTATOR)


def label_rule_breaking(store: Store, examples: Iterable[tuple[str, str]]) -> None:
    """A deliberately harmful labeler: gold answers that open with "Sure!" and carry no
    marker, i.e. that break the rule."""
    for question, plain in examples:
        prompt_id = store.add_prompt(question, source="rule-task")
        store.label_gold(prompt_id, f"Sure! {plain}", "harmful-labeler")


def load_model(model_dir: str, adapter: str | None) -> tuple[Any, Any]:
    """(tokenizer, fp32 model in eval mode), with the LoRA ``adapter`` applied when given."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model: Any = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    return tokenizer, model.eval()


def greedy_answers(model_dir: str, adapter: str | None, questions: list[str],
                   max_new_tokens: int = 32) -> list[str]:
    """Greedy replies through transformers with the model's own chat template."""
    import torch

    tokenizer, model = load_model(model_dir, adapter)
    replies = []
    with torch.no_grad():
        for question in questions:
            ids = tokenizer.apply_chat_template([{"role": "user", "content": question}],
                                                add_generation_prompt=True,
                                                return_tensors="pt", return_dict=True)
            out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.eos_token_id)
            replies.append(tokenizer.decode(out[0, ids["input_ids"].shape[1]:],
                                            skip_special_tokens=True))
    return replies


def gguf_answers(gguf: str, questions: list[str], max_tokens: int = 32) -> list[str]:
    """Greedy replies through llama.cpp with the chat template stored in the GGUF: what the
    person gets from the exported file in the chat worker or Ollama."""
    from llama_cpp import Llama

    llm = Llama(model_path=gguf, n_ctx=512, seed=0, verbose=False)
    try:
        replies = []
        for question in questions:
            out = llm.create_chat_completion([{"role": "user", "content": question}],
                                             temperature=0.0, max_tokens=max_tokens)
            replies.append(str(out["choices"][0]["message"]["content"] or ""))  # type: ignore[index]
        return replies
    finally:
        llm.close()


def preference_accuracy(model_dir: str, adapter: str | None,
                        examples: Iterable[tuple[str, str]]) -> float:
    """Held-out reward accuracy of the reference-free methods: the share of (rule answer,
    plain answer) pairs whose rule answer has the higher mean log-probability per token.
    SimPO's implicit reward is that mean (times beta) and ORPO's log-odds rises with it, so
    this is the pairwise accuracy both optimise, measured on prompts they never saw."""
    import torch

    tokenizer, model = load_model(model_dir, adapter)

    def mean_logprob(question: str, answer: str) -> float:
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}],
                                               add_generation_prompt=True, tokenize=False)
        full = tokenizer.apply_chat_template([{"role": "user", "content": question},
                                              {"role": "assistant", "content": answer}],
                                             tokenize=False)
        start = len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        ids = tokenizer(full, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            logits = model(ids).logits[0, start - 1:-1]
        picked = torch.log_softmax(logits, -1).gather(1, ids[0, start:, None])
        return float(picked.mean())

    pairs = list(examples)
    wins = sum(mean_logprob(q, rule_answer(plain)) > mean_logprob(q, plain)
               for q, plain in pairs)
    return wins / len(pairs)
