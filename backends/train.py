"""Train a LoRA adapter (or a full fine-tune) with TRL on a run folder's frozen snapshot.

    python -m backends.train --job-dir RUN_DIR

The run folder is the job folder. Reads ``RUN_DIR/config.json`` (a
studio.training.config.TrainConfig), trains SFT, DPO or KTO on ``RUN_DIR/snapshot``, and writes
the adapter in PEFT format to ``RUN_DIR/adapter``. Progress goes to ``RUN_DIR/events.jsonl``
only (never to the parent's stdout, which may be gone: a killed terminal must not kill the
run). A stop (the job's ``stop`` file, SIGTERM or SIGINT) saves a checkpoint, also in the
middle of an evaluation, and exits 0 with a ``cancelled`` event; running again resumes from
the last checkpoint with the same step numbering. When the run folder lies in a data folder
(``<data>/runs/<id>``) the process also updates its row in that run registry and, when done,
starts the next queued run.
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
from backends.lib.jobs import StopFlag, disk_full_failure, make_job_parser
from backends.lib.train_callbacks import EvaluationInterruptedError, make_events_callback
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


def _registry(run: RunDir) -> Any:
    """The data folder's paths and store when the run folder is ``<data>/runs/<id>``."""
    data_dir = run.path.parent.parent
    if run.path.parent.name != "runs" or not (data_dir / "studio.db").is_file():
        return None
    from studio.db.store import Store
    from studio.paths import DataPaths

    paths = DataPaths.at(data_dir)
    return paths, Store.open(paths.db)


def process_rank() -> int:
    """This process's global rank under ``torchrun``/``accelerate launch`` (0 when alone)."""
    return int(os.environ.get("RANK", "0") or 0)


def main(args: argparse.Namespace) -> int:
    stop = StopFlag(args.job_dir)  # first: a cancel during the slow imports still counts
    run = RunDir(Path(args.job_dir).resolve())
    if process_rank() != 0:
        return _worker_rank(run, stop)
    other = run.read_pid()
    if other not in (None, os.getpid()) and run.is_alive():
        sys.stderr.write(f"run {run.path.name} is already being trained by process {other}\n")
        return 2
    run.write_pid(os.getpid())
    _setup_logging(run)
    writer = EventWriter(run.events)
    registry = _registry(run)
    _notify_start(registry, run)
    code = 0
    try:
        outcome = train(TrainConfig.load(run.config), run, writer, stop)
    except Exception as error:  # the process boundary: report any failure as an event
        log.exception("training failed")
        full = disk_full_failure(error, run.path, "saving the run",
                                 lambda: unfinished_saves(run.checkpoints, run.adapter))
        writer.emit("failed", message=human_message(full or error), log=str(run.log))
        outcome, code = "failed", 1
    log.info("run ended: %s", outcome)
    _notify_end(registry, run)
    return code


def _worker_rank(run: RunDir, stop: StopFlag) -> int:
    """A non-zero rank of a multi-process run trains its share and writes nothing of the run
    folder's protocol: rank 0 alone owns the pid file, events, adapter and registry row."""
    rank = process_rank()
    handler = logging.FileHandler(run.path / f"train.rank{rank}.log", encoding="utf-8")
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    try:
        train(TrainConfig.load(run.config), run, EventWriter(None), stop)
    except Exception:  # the process boundary: rank 0 reports the run's failure
        log.exception("training failed on rank %d", rank)
        return 1
    return 0


def _notify_start(registry: Any, run: RunDir) -> None:
    if registry is None:
        return
    from studio.errors import NotFoundError
    from studio.training.runs import mark_started

    try:
        mark_started(registry[1], run.path.name, os.getpid())
    except NotFoundError:
        log.warning("run %s is not in the registry; training without it", run.path.name)


def _notify_end(registry: Any, run: RunDir) -> None:
    """Record the outcome, then start the next queued run (the queue advances without UI)."""
    if registry is None:
        return
    from studio.errors import NotFoundError
    from studio.training.runs import record_outcome, start_next

    paths, store = registry
    try:
        events = run.events_list()
        if events and events[-1].is_terminal:
            record_outcome(store, run.path.name, events[-1])
        run.pid_file.unlink(missing_ok=True)
        start_next(store, paths)
    except NotFoundError:
        log.warning("run %s is not in the registry", run.path.name)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
