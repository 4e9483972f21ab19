"""Held-out reward accuracy for KTO, which TRL's KTOTrainer does not report.

The implied reward of a completion is beta x (log p_policy - log p_reference), the reference
being the base with the adapter switched off. An example is classified correctly when the
sign of its reward matches its thumb (up: positive, down: negative); a zero reward (the
untrained adapter) counts half, so an untrained model scores 0.5 as DPO's accuracy would.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

ACCURACY_KEY = "eval_rewards/accuracies"


def _ids(tokenizer: Any, prompt: list[dict[str, str]], completion: list[dict[str, str]],
         max_length: int) -> tuple[list[int], int]:
    """Token ids of prompt + completion (chat template), and where the completion starts."""
    head = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)
    whole = tokenizer.apply_chat_template(prompt + completion, tokenize=False)
    head_ids = tokenizer(head, add_special_tokens=False)["input_ids"]
    ids = tokenizer(whole, add_special_tokens=False)["input_ids"][:max_length]
    return ids, min(len(head_ids), len(ids) - 1)


def completion_logps(model: Any, tokenizer: Any, rows: list[dict[str, Any]], max_length: int,
                     batch_size: int = 8) -> list[float]:
    """Sum of the completion tokens' log-probabilities, per row."""
    import torch

    encoded = [_ids(tokenizer, row["prompt"], row["completion"], max_length) for row in rows]
    device = next(model.parameters()).device
    out: list[float] = []
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start:start + batch_size]
        width = max(len(ids) for ids, _ in chunk)
        pad = tokenizer.pad_token_id or 0
        input_ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids, _ in chunk],
                                 device=device)
        attention = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in chunk],
                                 device=device)
        with torch.no_grad():
            logits = model(input_ids=input_ids, attention_mask=attention).logits.float()
        logps = torch.log_softmax(logits[:, :-1], dim=-1).gather(
            -1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        for row, (ids, begin) in enumerate(chunk):
            out.append(float(logps[row, begin - 1:len(ids) - 1].sum()))
    return out


def kto_reward_accuracy(model: Any, tokenizer: Any, rows: list[dict[str, Any]], beta: float,
                        max_length: int) -> float | None:
    """Share of held-out thumbs whose implied reward has the right sign (None: no rows or no
    adapter to switch off)."""
    if not rows or not hasattr(model, "disable_adapter"):
        return None
    was_training = model.training
    model.eval()
    policy = completion_logps(model, tokenizer, rows, max_length)
    with model.disable_adapter() if hasattr(model, "disable_adapter") else nullcontext():
        reference = completion_logps(model, tokenizer, rows, max_length)
    model.train(was_training)
    score = 0.0
    for row, mine, ref in zip(rows, policy, reference, strict=True):
        reward = beta * (mine - ref)
        if reward == 0:
            score += 0.5
        elif (reward > 0) == bool(row["label"]):
            score += 1.0
    return score / len(rows)
