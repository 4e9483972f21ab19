"""Train a LoRA adapter (or a full fine-tune) with TRL on a run folder's frozen snapshot.

    python -m backends.train --job-dir RUN_DIR

The run folder is the job folder. Reads ``RUN_DIR/config.json`` (a
studio.training.config.TrainConfig), trains SFT, DPO or KTO on ``RUN_DIR/snapshot``, and writes
the adapter in PEFT format to ``RUN_DIR/adapter``. Progress goes to ``RUN_DIR/events.jsonl``
only (never to the parent's stdout, which may be gone: a killed terminal must not kill the
run). A stop (the job's ``stop`` file, SIGTERM or SIGINT) saves a checkpoint, also in the
middle of an evaluation, and exits 0 with a ``cancelled`` event; running again resumes from
the last checkpoint with the same step numbering. It runs through ``run_job`` like every job;
the database named by config.json's ``db`` gets the run's row in the run list and, when the
run ends, the queue advances (:mod:`backends.lib.train_run_list`). Under ``torchrun`` or
``accelerate launch`` only rank 0 owns the pid file, the events and the row.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

from backends.lib.checkpoints import resumable_checkpoint, unfinished_saves
from backends.lib.export_merge import copy_tokenizer_files
from backends.lib.jobs import StopFlag, disk_full_failure, make_job_parser, run_job
from backends.lib.train_callbacks import EvaluationInterruptedError, make_events_callback
from backends.lib.train_run_list import RunListEntry
from backends.lib.train_template import check_template
from studio.errors import StudioError
from studio.evaluation.graders.sandbox import GradingStoppedError
from studio.events import EventWriter
from studio.training.config import TrainConfig
from studio.training.preflight import preflight, require_ok
from studio.training.runs import RunDir

log = logging.getLogger("backends.train")


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser(__doc__.splitlines()[0])


def _setup_logging(run: RunDir) -> None:
    handler = logging.FileHandler(run.log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)


def _quiet_progress_bars() -> None:
    """Dataset map and weight-loading bars would fill the log with carriage returns."""
    from datasets.utils.logging import disable_progress_bar
    from transformers.utils.logging import disable_progress_bar as disable_transformers_bars

    disable_progress_bar()
    disable_transformers_bars()


def human_message(error: BaseException) -> str:
    """One short sentence for the UI; the traceback is in the log."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, StudioError):
        return text
    if "out of memory" in text.lower():
        return ("the device ran out of memory; lower batch_size or max_length, turn on"
                " gradient checkpointing, or use QLoRA")
    return f"{type(error).__name__}: {text}"[:400]


def train(config: TrainConfig, run: RunDir, writer: EventWriter, stop: StopFlag) -> str:
    """Run the training; returns the terminal event it emitted."""
    require_ok(preflight(config, run.snapshot, memory=False))
    from transformers import PrinterCallback

    from backends.lib import train_setup as setup
    from backends.lib import train_speed
    from backends.lib.train_grpo import BUILDERS as GRPO_BUILDERS
    from backends.lib.train_preference import BUILDERS as PREFERENCE_BUILDERS

    _quiet_progress_bars()
    hardware = setup.resolve_hardware(config)
    plan = train_speed.plan_run(config, hardware.device, config.precision)
    if plan.qlora and config.adapter == "lora":  # the model would not fit otherwise
        config = TrainConfig.from_dict({**config.to_dict(), "adapter": "qlora"})
    tokenizer = setup.load_tokenizer(config)
    train_set = setup.load_dataset(run.snapshot / "train.jsonl")
    full_eval = setup.load_dataset(run.snapshot / "eval.jsonl")
    check_template(tokenizer, {"train": train_set, "eval": full_eval})
    eval_set = setup.bounded_eval(full_eval, config)
    args = setup.common_args(config, hardware, run.checkpoints, len(train_set),
                             eval_set is not None)
    train_speed.apply(plan, config.method, args)
    model = setup.load_model(config, hardware)
    train_speed.apply_to_model(plan, model)
    builder = {**setup.BUILDERS, **PREFERENCE_BUILDERS, **GRPO_BUILDERS}[config.method]
    trainer, extra = builder(config, model, tokenizer, train_set, eval_set, args)
    counts = setup.trained_counts(trainer, train_set, eval_set, full_eval)
    budget = _fit_budget(trainer, config, hardware.device, run, counts, writer)
    resolved = {**config.to_dict(), "learning_rate": args["learning_rate"],
                "eval_steps": trainer.args.eval_steps, "save_steps": trainer.args.save_steps,
                "max_steps": trainer.args.max_steps,
                "gradient_checkpointing": args["activation_checkpointing"], **extra}
    callback = make_events_callback(writer, stop, {
        "config": resolved, "device": hardware.device, "device_name": hardware.name,
        "precision": hardware.precision, "counts": counts, "pid": os.getpid(),
        "speed": plan.as_dict(), "budget": budget.as_dict() if budget else None})
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(callback)
    checkpoint, skipped = resumable_checkpoint(run.checkpoints)
    for line in skipped:
        writer.emit("progress", stage="resume", message=line)
    if skipped:
        resumed = f"resuming from {checkpoint.name}" if checkpoint else "starting from step 0"
        writer.emit("progress", stage="resume", message=resumed)
    if stop.stop:  # cancelled while loading: nothing new to save
        writer.emit("cancelled", step=_step(checkpoint), checkpoint=_path(checkpoint))
        return "cancelled"
    started = time.monotonic()
    try:
        trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    except (EvaluationInterruptedError, GradingStoppedError):
        # Stopped inside an evaluation pass or while a grader scored a GRPO step, before the
        # trainer's own save of this step (the step's update has not been applied yet).
        # `_save_checkpoint` is the trainer's private method: it is the only way to write a
        # resumable checkpoint (optimizer, scheduler, trainer_state) from outside its loop.
        if trainer.state.global_step > _step(run.latest_checkpoint()):
            trainer._save_checkpoint(trainer.model_wrapped, trial=None)
            callback.on_save(trainer.args, trainer.state, trainer.control)
    if stop.stop:
        latest = run.latest_checkpoint()
        writer.emit("cancelled", step=trainer.state.global_step, checkpoint=_path(latest))
        return "cancelled"
    return _finish(trainer, tokenizer, run, writer, eval_set, time.monotonic() - started)


def _fit_budget(trainer: Any, config: TrainConfig, device: str, run: RunDir,
                counts: dict[str, int], writer: EventWriter) -> Any:
    """Time one step, fit steps and evaluation to the budget, and say what was decided."""
    from backends.lib import train_budget
    from backends.lib.train_callbacks import make_deadline_callback

    deadline = train_budget.grpo_deadline_s(config, device)
    if deadline is not None:
        trainer.add_callback(make_deadline_callback(writer, deadline))
        writer.emit("progress", stage="budget", message=f"time budget: training stops after"
                    f" about {deadline / 60:.0f} min, at the step that ends past it (GRPO"
                    " samples answers, so no single step says how many fit)")
    if not train_budget.applies(config):
        return None
    writer.emit("progress", stage="budget", message="timing one training step on this"
                " machine to fit the run to its time budget")
    budget = train_budget.fit(trainer, config, device, run.path, counts["train"],
                              counts["eval"])
    if budget is not None:
        counts["eval"] = len(trainer.eval_dataset) if trainer.eval_dataset is not None else 0
        writer.emit("progress", stage="budget", message=budget.summary() or
                    f"one step takes {budget.step_s:.1f} s here", warning=budget.warning)
    return budget


def _finish(trainer: Any, tokenizer: Any, run: RunDir, writer: EventWriter, eval_set: Any,
            wall: float) -> str:
    trainer.save_model(str(run.adapter))  # writes on the main process only
    if not trainer.is_world_process_zero():
        return "finished"
    tokenizer.save_pretrained(str(run.adapter))
    base = Path(str(tokenizer.name_or_path))
    if base.is_dir():
        # transformers 5's save_pretrained drops tokenizer.model and add_bos_token-style keys;
        # the base's own files keep llama.cpp tokenizing exactly as training did.
        copy_tokenizer_files(base, run.adapter)
    metrics: dict[str, Any] = {}
    last_eval = [h for h in trainer.state.log_history if "eval_loss" in h]
    if eval_set is not None:
        metrics.update(last_eval[-1] if last_eval else trainer.evaluate())
    train_logs = [h for h in trainer.state.log_history if "train_loss" in h]
    if train_logs:
        metrics["train_loss"] = train_logs[-1]["train_loss"]
    steps = [h for h in trainer.state.log_history if "loss" in h]
    if steps:
        metrics["loss"] = steps[-1]["loss"]
    tokens = getattr(trainer.state, "num_input_tokens_seen", 0) or 0
    writer.emit("finished", adapter=str(run.adapter), step=trainer.state.global_step,
                metrics=metrics, note=reward_note(metrics), wall_s=round(wall, 3),
                tokens_per_s=round(tokens / wall, 1) if wall > 0 and tokens else None)
    return "finished"


def reward_note(metrics: dict[str, Any]) -> str | None:
    """Reward accuracy is not behaviour: on SmolLM2 a DPO run reached 1.0 on its eval pairs
    while 0 of 30 held-out answers changed. Say so wherever the number is shown."""
    accuracy = metrics.get("eval_rewards/accuracies")
    if accuracy is None:
        return None
    return (f"reward accuracy {accuracy:.2f} on eval pairs says the tuned model prefers the"
            " chosen answers, not that it now writes them: check behaviour with an eval set")


def _step(checkpoint: Path | None) -> int:
    return int(checkpoint.name.split("-")[-1]) if checkpoint else 0


def _path(checkpoint: Path | None) -> str | None:
    return str(checkpoint) if checkpoint else None


def process_rank() -> int:
    """This process's global rank under ``torchrun``/``accelerate launch`` (0 when alone)."""
    return int(os.environ.get("RANK", "0") or 0)


class TrainingFailedError(StudioError):
    """A run that failed, said in one sentence (:func:`human_message`); the traceback of its
    cause goes to the log."""


def main(args: argparse.Namespace) -> int:
    run = RunDir(Path(args.job_dir).resolve())
    if process_rank() != 0:
        return _worker_rank(run, StopFlag(run.path))
    other = run.read_pid()
    if other not in (None, os.getpid()) and run.is_alive():
        sys.stderr.write(f"run {run.path.name} is already being trained by process {other}\n")
        return 2
    run.write_pid(os.getpid())
    _setup_logging(run)
    entry = RunListEntry.open(run)
    outcome = ["failed"]

    def work(job_dir: Path, writer: EventWriter, stop: StopFlag) -> None:
        if entry is not None:  # after run_job's StopFlag: a cancel from here on counts
            entry.started()
        try:
            outcome[0] = train(TrainConfig.load(run.config), run, writer, stop)
        except Exception as error:  # the process boundary: say it in one sentence
            full = disk_full_failure(error, run.path, "saving the run",
                                     lambda: unfinished_saves(run.checkpoints, run.adapter))
            raise (full or TrainingFailedError(human_message(error))) from error

    code = run_job(args, "train", work)  # a failure: the traceback to train.log, `failed`
    log.info("run ended: %s", outcome[0])
    if entry is not None:
        entry.ended()  # after the last event: the outcome is recorded, the queue advances
    return code


def _worker_rank(run: RunDir, stop: StopFlag) -> int:
    """A non-zero rank of a multi-process run trains its share and writes nothing of the run
    folder's protocol: rank 0 alone owns the pid file, events, adapter and run list row, so
    this rank does not go through ``run_job`` (which would write them)."""
    rank = process_rank()
    handler = logging.FileHandler(run.path / f"train.rank{rank}.log", encoding="utf-8")
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    try:
        train(TrainConfig.load(run.config), run, EventWriter(None), stop)
    except Exception:  # the process boundary: rank 0 reports the run's failure
        log.exception("training failed on rank %d", rank)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
