"""GRPO's pre-flight probe: sample the base model on a few prompts and grade the answers.

    python -m backends.train_grpo_probe --job-dir DIR

Reads ``DIR/config.json`` (a studio.training.grpo_probe.GrpoProbeConfig), samples
``generations`` answers to each of the snapshot's first ``prompts`` prompts with transformers,
scores them with the graders (weighted mean, as GRPO's reward) and writes ``finished`` with
``pass_rate``, ``n``, ``groups`` and ``groups_with_variance`` to ``DIR/events.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from backends.lib.jobs import StopFlag, make_job_parser, run_job
from backends.lib.train_template import check_template
from studio.evaluation.graders import Grader, WeightedMean
from studio.evaluation.graders.sandbox import GradingStoppedError, close_all, isolate
from studio.evaluation.graders.spec import folder_db, parse_specs
from studio.events import EventWriter
from studio.registry.locate import resolve_model_dir
from studio.training.grpo_probe import GrpoProbeConfig

MIN_PROMPTS = 2


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser(__doc__.splitlines()[0])


def reward_grader(config: GrpoProbeConfig, job_dir: Path) -> Grader:
    weights = config.reward_weights or [1.0] * len(config.graders)
    graders = parse_specs(config.graders, folder_db(job_dir))
    return WeightedMean(list(zip(graders, weights, strict=True)))


def load(config: GrpoProbeConfig) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = str(resolve_model_dir(config.model) or config.model)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model: Any = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    if config.init_adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, config.init_adapter)
    return model.eval(), tokenizer


def sample(model: Any, tokenizer: Any, messages: list[dict[str, str]],
           config: GrpoProbeConfig) -> list[str]:
    import torch

    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    encoded = tokenizer(text, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**encoded, do_sample=True, temperature=config.temperature,
                             top_p=1.0, top_k=0, max_new_tokens=config.max_completion_length,
                             num_return_sequences=config.generations,
                             pad_token_id=tokenizer.pad_token_id)
    return tokenizer.batch_decode(out[:, encoded["input_ids"].shape[1]:],
                                  skip_special_tokens=True)


def run(job_dir: Path, events: EventWriter, flag: StopFlag) -> None:
    config = GrpoProbeConfig.load(job_dir)
    grader = isolate(reward_grader(config, job_dir), should_stop=lambda: flag.stop)
    try:
        _probe(config, grader, events, flag)
    except GradingStoppedError as stopped:
        events.emit("cancelled", message=str(stopped))
    finally:
        close_all(grader)


def _probe(config: GrpoProbeConfig, grader: Grader, events: EventWriter, flag: StopFlag) -> None:
    import torch

    lines = (Path(config.snapshot_dir) / "train.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in lines.splitlines() if line.strip()][:config.prompts]
    events.emit("progress", stage="load", done=0, total=len(rows), message="loading the model")
    torch.manual_seed(config.seed)
    model, tokenizer = load(config)
    check_template(tokenizer, {"train": rows})  # the chat worker's limits, before sampling
    start, passed, n, varied = time.monotonic(), 0, 0, 0
    sampled = 0
    for done, row in enumerate(rows, start=1):
        if flag.stop:
            events.emit("cancelled", done=done - 1, total=len(rows))
            return
        if over_time(config, start, done - 1):
            break
        answers = sample(model, tokenizer, row["prompt"], config)
        question = str(row["prompt"][-1].get("content", ""))
        grades = grader.score_batch([question] * len(answers), answers,
                                    [row.get("reference")] * len(answers))
        passed += sum(g.passed for g in grades)
        n += len(grades)
        varied += len({round(g.score, 6) for g in grades}) > 1
        sampled = done
        events.emit("progress", stage="probe", done=done, total=len(rows),
                    message=f"sampled {done}/{len(rows)} prompts")
    events.emit("finished", pass_rate=round(passed / n, 4) if n else 0.0, n=n,
                passed=passed, groups=sampled, groups_with_variance=varied,
                wall_s=round(time.monotonic() - start, 2))


def over_time(config: GrpoProbeConfig, start: float, done: int) -> bool:
    """The probe's budget is spent (it always samples two prompts: one says nothing of the
    spread between prompts)."""
    return bool(config.time_limit_s) and done >= MIN_PROMPTS \
        and time.monotonic() - start >= config.time_limit_s


def main(args: argparse.Namespace) -> int:
    return run_job(args, "train_grpo_probe", run)


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
