"""Write candidate answers to label: N per prompt from a GGUF model through llama.cpp.

    python -m backends.generate --job-dir DIR

Reads ``DIR/config.json`` (``studio.candidates.generation.GenerationConfig``), stores each
candidate in the database as soon as it is written, and appends ``progress`` / ``finished`` /
``failed`` /
``cancelled`` events to ``DIR/events.jsonl``. SIGTERM or SIGINT stops after
the candidate in progress; what was finished stays, and a re-run does only what is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from backends.lib.chat_decode import ChatDecoder, Decoded
from backends.lib.chat_template import ChatTemplateError
from backends.lib.jobs import StopFlag, make_job_parser, process_items, run_store_job
from studio.candidates.generation import GenerationConfig, pending_candidates, store_candidate
from studio.db.store import Store
from studio.events import EventWriter


def make_parser() -> argparse.ArgumentParser:
    return make_job_parser(__doc__.splitlines()[0])


def generate_one(decoder: ChatDecoder, messages: list[dict[str, str]],
                 sampling: dict[str, Any]) -> str:
    """One candidate, decoded like the chat worker does (constant work per token)."""
    pieces = decoder.stream(messages, sampling["temperature"], sampling["top_p"],
                            sampling["max_tokens"], sampling["seed"], Decoded())
    return "".join(pieces).strip()


def run_job(config: GenerationConfig, store: Store, events: EventWriter, flag: StopFlag) -> None:
    from backends.chat import open_llama
    from backends.lib.llama_device import decode_backend

    todo = pending_candidates(store, config)
    total = len(todo)
    events.emit("progress", stage="load", done=0, total=total, backend=decode_backend(),
                message=f"loading {config.model_name} (decoding on {decode_backend()})")
    llm = open_llama(config.model_path, config.lora_path, n_ctx=config.n_ctx,
                     n_threads=config.threads or None, n_gpu_layers=config.gpu_layers,
                     verbose=False)
    try:
        decoder = ChatDecoder(llm)
    except ChatTemplateError as error:
        llm.close()
        raise ChatTemplateError(f"{config.model_path}: {error}") from error
    start, counts = time.monotonic(), {"stored": 0, "empty": 0, "failed": 0}

    def write_candidate(item: tuple[int, int]) -> None:
        prompt_id, index = item
        try:
            text = generate_one(decoder, store.prompt(prompt_id).conversation(),
                                config.sampling(index))
        except (ChatTemplateError, ValueError) as error:
            # One prompt the template refuses, or too long for the context: skip it, say so.
            counts["failed"] += 1
            events.emit("progress", stage="generate", message=f"prompt {prompt_id}: {error}")
            return
        if text:
            store_candidate(store, config, prompt_id, index, text)
        # an empty answer is nothing to label
        counts["stored" if text else "empty"] += 1

    try:
        if process_items(todo, write_candidate, events, flag, "generate", "candidates",
                         summary=lambda: counts):
            events.emit("finished", **counts, total=total,
                        wall_s=round(time.monotonic() - start, 2))
    finally:
        llm.close()


def work(job_dir: Path, store: Store, events: EventWriter, flag: StopFlag) -> None:
    config = GenerationConfig.load(job_dir)
    config.validate()
    run_job(config, store, events, flag)


def main(args: argparse.Namespace) -> int:
    return run_store_job(args, "generate", work)


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
