"""Measure how far a tuned model drifted from its parent on untrained prompts.

``python -m backends.drift --job-dir DIR``; DIR/config.json holds a
``studio.evaluation.drift.DriftConfig``. The parent answers each prompt greedily; both models
then score that answer token by token, and the job stores the mean per-token
KL(parent || tuned) and the drop in the answer's log-likelihood (``drift_scores``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from backends.lib.jobs import StopFlag, make_job_parser, process_items, run_store_job
from studio.db.store import Store
from studio.evaluation.drift import DRIFT_MODULE, Drift, DriftConfig, save_drift
from studio.events import EventWriter
from studio.jobs.config import load_config


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser(__doc__.splitlines()[0])


def load(path: str, adapter: str | None) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    model: Any = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
    return model.eval()


class Pair:
    """The parent and the tuned model. An adapter trained on the parent itself shares its
    weights: one copy, with the adapter switched off for the parent's side."""

    def __init__(self, config: DriftConfig) -> None:
        self.shared = bool(config.adapter_path) and not config.parent_adapter_path and \
            Path(config.model_path) == Path(config.parent_path)
        self.tuned = load(config.model_path, config.adapter_path)
        self.parent = self.tuned if self.shared else load(config.parent_path,
                                                          config.parent_adapter_path)

    @contextmanager
    def as_parent(self) -> Iterator[Any]:
        with self.tuned.disable_adapter() if self.shared else nullcontext():
            yield self.parent


def measure(pair: Pair, tokenizer: Any, messages: list[dict[str, str]],
            max_new_tokens: int) -> tuple[float, float, int]:
    """(sum of per-token KL, sum of log-likelihood drop, answer tokens) for one prompt."""
    import torch

    enc = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)
    start = enc["input_ids"].shape[1]
    with torch.no_grad():
        with pair.as_parent() as parent:
            full = parent.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                   pad_token_id=tokenizer.pad_token_id or
                                   tokenizer.eos_token_id)
            if full.shape[1] <= start:
                return 0.0, 0.0, 0
            logp_parent = torch.log_softmax(parent(full).logits[0, start - 1:-1], dim=-1)
        logp_tuned = torch.log_softmax(pair.tuned(full).logits[0, start - 1:-1], dim=-1)
    answer = full[0, start:]
    kl = (logp_parent.exp() * (logp_parent - logp_tuned)).sum(dim=-1)
    rows = torch.arange(answer.shape[0])
    drop = logp_parent[rows, answer] - logp_tuned[rows, answer]
    return float(kl.sum()), float(drop.sum()), int(answer.shape[0])


def work(job_dir: Path, store: Store, events: EventWriter, flag: StopFlag) -> None:
    import torch
    from transformers import AutoTokenizer

    config = load_config(DriftConfig, job_dir)
    torch.manual_seed(config.seed)
    items = [(pid, store.prompt(pid).conversation()) for pid in config.prompt_ids]
    events.emit("started", total=len(items), model_id=config.model_id)
    tokenizer = AutoTokenizer.from_pretrained(config.parent_path)
    pair = Pair(config)
    per_prompt: dict[str, float] = {}
    totals = [0.0, 0.0, 0]

    def handle(item: tuple[int, list[dict[str, str]]]) -> None:
        kl, drop, tokens = measure(pair, tokenizer, item[1], config.max_new_tokens)
        if tokens:
            per_prompt[str(item[0])] = kl / tokens
            totals[0], totals[1], totals[2] = totals[0] + kl, totals[1] + drop, \
                int(totals[2]) + tokens

    if not process_items(items, handle, events, flag, "drift", "prompts"):
        return
    tokens = int(totals[2])
    drift = Drift(config.model_id, config.parent_id, totals[0] / max(tokens, 1),
                  totals[1] / max(tokens, 1), len(per_prompt), tokens, per_prompt)
    save_drift(store, drift)
    events.emit("finished", kl=drift.kl, nll_drop=drift.nll_drop, n_prompts=drift.n_prompts,
                n_tokens=tokens, message=drift.text())


def main(args: argparse.Namespace) -> int:
    return run_store_job(args, DRIFT_MODULE, work)


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
