"""Run a model over an eval set: greedy answers, graded, stored per prompt (resumable).

``python -m backends.eval --job-dir DIR``; DIR/config.json holds a
``studio.evaluation.jobs.EvalConfig``.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path
from typing import Any

from backends.jobs import StopFlag, process_items
from studio.evaluation.evalsets import eval_items, get_eval_set
from studio.evaluation.graders import parse_spec
from studio.evaluation.jobs import (
    EvalConfig,
    done_prompt_ids,
    run_results,
    save_result,
    set_status,
    start_run,
)
from studio.evaluation.report import wilson
from studio.events import EventWriter
from studio.jobs.config import load_config, save_config
from studio.labels.store import Store


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Run a model over an eval set.")
    parser.add_argument("--job-dir", type=Path, required=True, help="job folder with config.json")
    return parser


def load_model(config: EvalConfig) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(config.model_path)
    model: Any = AutoModelForCausalLM.from_pretrained(config.model_path, dtype=torch.float32)
    if config.adapter_path:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, config.adapter_path)
    model.eval()
    return model, tokenizer


def answer(model: Any, tokenizer: Any, messages: list[dict[str, str]], max_new: int) -> str:
    import torch

    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=max_new, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
    return str(tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True))


def work(job_dir: Path, config: EvalConfig, store: Store, events: EventWriter,
         flag: StopFlag) -> None:
    eval_set = get_eval_set(store, config.set_name)
    grader = parse_spec(eval_set.grader)
    if config.run_id is None:
        # Saved back so that re-running this job folder resumes the same run.
        config.run_id = start_run(store, eval_set.id, config.model_id)
        save_config(config, job_dir)
    run_id = config.run_id
    done = done_prompt_ids(store, run_id)
    todo = [item for item in eval_items(store, eval_set.id) if item[0] not in done]
    events.emit("started", run_id=run_id, total=len(todo), skipped=len(done))
    model, tokenizer = load_model(config)

    def handle(item: tuple[int, list[dict[str, str]], str | None]) -> None:
        prompt_id, messages, reference = item
        response = answer(model, tokenizer, messages, config.max_new_tokens)
        grade = grader.score(messages[-1]["content"], response, reference)
        save_result(store, run_id, prompt_id, response, grade.score, grade.reason)

    if not process_items(todo, handle, events, flag, "eval", "prompts"):
        set_status(store, run_id, "cancelled")
        return
    set_status(store, run_id, "completed")
    results = run_results(store, run_id)
    interval = wilson(sum(r.passed for r in results), len(results))
    events.emit("finished", run_id=run_id, pass_rate=interval.rate, ci_low=interval.low,
                ci_high=interval.high, n=interval.n)


def main(args: argparse.Namespace) -> int:
    flag = StopFlag(args.job_dir)
    events = EventWriter.stdout(args.job_dir / "events.jsonl")
    config = load_config(EvalConfig, args.job_dir)
    store = Store.open(config.db)
    try:
        work(args.job_dir, config, store, events, flag)
    except Exception as error:  # noqa: BLE001 - a child process reports every failure
        sys.stderr.write(traceback.format_exc())
        events.emit("failed", message=str(error) or type(error).__name__)
        return 1
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
