"""Decode tokens/s and time-to-first-token: the chat worker (llama.cpp) vs transformers generate.

    python bench/bench_chat.py MODEL_DIR GGUF [GGUF ...] [--tokens 256] [--repeats 3]

Same model, same chat prompt, greedy. The worker is driven over its real JSON-lines protocol;
transformers decodes with ``generate`` and a streamer to time the first token.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

PROMPT = [{"role": "user", "content": "Tell me a long story about the sea and the wind."}]


def worker_run(gguf: Path, tokens: int, repeats: int) -> tuple[float, float]:
    process = subprocess.Popen([sys.executable, "-m", "backends.chat"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdin is not None
    assert process.stdout is not None

    def send(**command: object) -> None:
        process.stdin.write(json.dumps(command) + "\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]

    def until(name: str) -> dict:
        for line in process.stdout:  # type: ignore[union-attr]
            event = json.loads(line)
            if event["event"] in (name, "error"):
                return event
        raise RuntimeError("worker ended")

    send(cmd="load", model=str(gguf), n_ctx=1024, threads=2)
    until("loaded")
    rates, ttfts = [], []
    for _ in range(repeats):
        send(cmd="chat", id="b", messages=PROMPT, max_tokens=tokens, temperature=0.0)
        done = until("done")
        rates.append(done["tokens_per_s"] or 0.0)
        ttfts.append(done["ttft_s"])
    send(cmd="quit")
    process.wait()
    return statistics.median(rates), statistics.median(ttfts)


def hf_run(model_dir: Path, tokens: int, repeats: int) -> tuple[float, float]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer

    torch.set_num_threads(2)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    ids = tokenizer.apply_chat_template(PROMPT, add_generation_prompt=True, return_tensors="pt",
                                        return_dict=True)["input_ids"]
    rates, ttfts = [], []
    for _ in range(repeats):
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True)
        started = time.monotonic()
        thread = threading.Thread(target=model.generate, kwargs={
            "input_ids": ids, "max_new_tokens": tokens, "min_new_tokens": tokens,
            "do_sample": False, "streamer": streamer})
        thread.start()
        stamps = [time.monotonic() for piece in streamer if piece]
        thread.join()
        ttfts.append(stamps[0] - started)
        rates.append((tokens - 1) / (time.monotonic() - stamps[0]))
    return statistics.median(rates), statistics.median(ttfts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("ggufs", type=Path, nargs="+")
    parser.add_argument("--tokens", type=int, default=256,
                        help="reply length; the chat default, long enough to time decoding")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    hf_rate, hf_ttft = hf_run(args.model_dir, args.tokens, args.repeats)
    print(f"{'engine':28} {'tok/s':>9} {'TTFT s':>8} {'vs HF':>7}")
    print(f"{'transformers generate':28} {hf_rate:9.1f} {hf_ttft:8.3f} {1.0:7.1f}x")
    for gguf in args.ggufs:
        rate, ttft = worker_run(gguf, args.tokens, args.repeats)
        print(f"{'chat worker ' + gguf.stem:28} {rate:9.1f} {ttft:8.3f} {rate / hf_rate:7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
