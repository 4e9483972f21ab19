"""Run a model over an eval set: greedy answers, graded, stored per prompt (resumable).

``python -m backends.eval --job-dir DIR``; DIR/config.json holds a
``studio.evaluation.jobs.EvalConfig``. The model answers through llama.cpp when the config
names a GGUF, else through transformers; an LLM judge grader is loaded once, in this process.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import sys
from pathlib import Path

from backends.eval_judge import LocalJudge
from backends.lib.eval_engines import BatchedAnswers, open_engine
from backends.lib.jobs import StopFlag, make_job_parser, process_items, run_store_job
from studio.db.store import Store
from studio.evaluation.evalsets import eval_items, get_eval_set
from studio.evaluation.graders import Grader, parse_spec
from studio.evaluation.graders.base import grader_version
from studio.evaluation.graders.judge import is_machine_made, judges_in
from studio.evaluation.graders.sandbox import (
    GraderLimits,
    GradingStoppedError,
    close_all,
    isolate,
)
from studio.evaluation.jobs import (
    EVAL_MODULE,
    EvalConfig,
    attach_run,
    done_prompt_ids,
    run_results,
    save_result,
    set_status,
    start_run,
)
from studio.evaluation.report import wilson
from studio.events import EventWriter
from studio.jobs.config import load_config, save_config

Item = tuple[int, list[dict[str, str]], str | None]


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser(__doc__.splitlines()[0])


def open_judges(grader: Grader) -> list[LocalJudge]:
    """Load each judge in the grader once, here, instead of one judge job per response."""
    opened = []
    for judge in judges_in(grader):
        local = LocalJudge(judge.config)
        judge.local = local
        opened.append(local)
    return opened


def grade_all(job_dir: Path, config: EvalConfig, store: Store, events: EventWriter,
              flag: StopFlag, run_id: int, todo: list[Item], grader: Grader) -> bool:
    engine = open_engine(config)
    judges = open_judges(grader)
    machine_made = is_machine_made(grader)
    version = grader_version(grader)

    saved = 0
    answers = BatchedAnswers(engine, [messages for _, messages, _ in todo])
    position = {id(item): index for index, item in enumerate(todo)}

    def handle(item: Item) -> None:
        nonlocal saved
        prompt_id, messages, reference = item
        response = answers.answer(position[id(item)])
        grade = grader.score(messages[-1]["content"], response, reference)
        save_result(store, run_id, prompt_id, response, grade.score, grade.reason,
                    version, machine_made)
        saved += 1

    try:
        return process_items(todo, handle, events, flag, "eval", "prompts")
    except GradingStoppedError as stopped:
        # A stop while a grader was scoring: its worker is killed, the answer is not saved
        # (a resumed run grades it again), and the run ends as any stop ends it.
        events.emit("cancelled", done=saved, total=len(todo), message=str(stopped))
        return False
    finally:
        close_all(grader)
        for judge in judges:
            judge.close()
        engine.close()


def work(job_dir: Path, store: Store, events: EventWriter, flag: StopFlag) -> None:
    config = load_config(EvalConfig, job_dir)
    eval_set = get_eval_set(store, config.set_name)
    # Every rule scores in a worker with a time limit per answer, killed at once on a stop.
    grader = isolate(parse_spec(eval_set.grader, store),
                     GraderLimits(time_s=config.grader_time_s), should_stop=lambda: flag.stop)
    if config.run_id is None:
        # Saved back so that re-running this job folder resumes the same run.
        config.run_id = start_run(store, eval_set.id, config.model_id)
        save_config(config, job_dir)
    run_id = config.run_id
    attach_run(store, run_id, config.engine, job_dir)
    done = done_prompt_ids(store, run_id)
    todo = [item for item in eval_items(store, eval_set.id) if item[0] not in done]
    events.emit("started", run_id=run_id, total=len(todo), skipped=len(done),
                engine=config.engine)
    try:
        finished = grade_all(job_dir, config, store, events, flag, run_id, todo, grader)
    except BaseException as error:
        # The results so far stay (resume skips them); the row must not stay 'running'. On a
        # full disk this write fails too: the original error is the one to report, and the
        # parent's liveness check marks the row failed later.
        with contextlib.suppress(sqlite3.OperationalError):
            set_status(store, run_id, "failed", str(error) or type(error).__name__)
        raise
    if not finished:
        set_status(store, run_id, "cancelled")
        return
    set_status(store, run_id, "completed")
    results = run_results(store, run_id)
    interval = wilson(sum(r.passed for r in results), len(results))
    events.emit("finished", run_id=run_id, engine=config.engine, pass_rate=interval.rate,
                ci_low=interval.low, ci_high=interval.high, n=interval.n)


def main(args: argparse.Namespace) -> int:
    return run_store_job(args, EVAL_MODULE, work)


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
