"""A long-lived llama.cpp chat worker: JSON-lines commands on stdin, events on stdout.

    python -m backends.chat [--threads N]

Commands, one JSON object per line:
  {"cmd": "load", "model": "m.gguf", "lora": null, "n_ctx": 2048, "threads": 0, "gpu_layers": -1}
  {"cmd": "chat", "id": "r1", "messages": [{"role": "user", "content": "Hi"}],
   "temperature": 0.7, "top_p": 0.95, "max_tokens": 256, "seed": 0}
  {"cmd": "stop"}      ends the reply being streamed (its ``done`` says stopped: true)
  {"cmd": "unload"}    frees the model;   {"cmd": "quit"} (or end of input) exits.

Events (``studio.events``): ``loaded``, ``token`` (id, text), ``done`` (id, text, tokens,
ttft_s, decode_s, wall_s, tokens_per_s, rate_kind, finish_reason, stopped) and ``error``
(message, id). ``tokens_per_s`` is the decode speed (``rate_kind`` "decode") when enough tokens
streamed over enough time to measure it, else tokens / wall time ("overall"); see
:func:`reply_rate`. A bad command or a model that cannot load is an ``error`` event; the worker
keeps running.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from backends.lib.chat_decode import ChatDecoder, Decoded
from backends.lib.chat_template import ChatTemplateError
from backends.lib.export_gguf_file import read_gguf
from backends.lib.llama_device import ALL_LAYERS, decode_backend
from studio.errors import StudioError
from studio.events import EventWriter

SAMPLING_KEYS = ("temperature", "top_p", "max_tokens", "seed")
# Below these a decode speed is noise: a reply that arrives in one burst (e.g. two pieces of one
# multi-byte character 30 µs apart) once showed as 27848 tok/s.
MIN_DECODE_TOKENS = 4
MIN_DECODE_S = 0.05
BAD_LINE = "_bad_line"  # queued by the reader thread, so only the main thread writes events


@dataclass
class ChatRequest:
    """One reply to generate. Field help doubles as the UI's tooltips."""

    id: str = field(metadata={"help": "Request id, echoed on every event of this reply."})
    messages: list[dict[str, str]] = field(metadata={"help": "The conversation so far."})
    temperature: float = field(default=0.7, metadata={"help": "Sampling temperature (0: greedy)."})
    top_p: float = field(default=0.95, metadata={"help": "Nucleus sampling probability mass."})
    max_tokens: int = field(default=256, metadata={"help": "Longest reply, in tokens."})
    seed: int = field(default=0, metadata={"help": "Sampling seed: the same seed, the same reply."})


def open_llama(model_path: str, lora_path: str | None = None, **kwargs: Any) -> Any:
    """A ``llama_cpp.Llama``; on a CPU with AMX, with the extra weight layouts turned off.

    Measured here: with them on (the default), evaluating any quantized GGUF (Q8_0, K-quants,
    Q4_0) on a Xeon with AMX segfaults inside ``llama_decode``; F16 works either way. Elsewhere
    they stay on: they are llama.cpp's repacked layouts for quantized weights, which the
    worker's decode needs to keep pace with llama-cpp-python called directly (see
    bench/results/2026-12-03-real-chat-decode-cpu.txt). Llama() does not expose
    ``use_extra_bufts``, so the default-params factory it calls is wrapped for the load.
    """
    import jinja2
    import llama_cpp
    import llama_cpp.llama as llama_module

    original = llama_module.llama_cpp.llama_model_default_params
    extra_layouts = not cpu_has_amx()

    def safe_defaults() -> Any:
        params = original()
        params.use_extra_bufts = extra_layouts
        return params

    llama_module.llama_cpp.llama_model_default_params = safe_defaults
    kwargs.setdefault("n_gpu_layers", ALL_LAYERS)  # a CPU-only build ignores it
    try:
        return llama_cpp.Llama(model_path=model_path, lora_path=lora_path, **kwargs)
    except jinja2.TemplateError as error:  # Llama() compiles the GGUF's template itself
        raise ChatTemplateError(f"the chat template does not compile: {error}") from error
    finally:
        llama_module.llama_cpp.llama_model_default_params = original


def cpu_has_amx() -> bool:
    """Whether llama.cpp's CPU backend found AMX (it lists "AMX_INT8 = 1" in its system info)."""
    import llama_cpp

    return "AMX" in llama_cpp.llama_print_system_info().decode("utf-8", errors="replace")


class ChatWorker:
    """Holds at most one model and answers the commands read by :func:`read_commands`."""

    def __init__(self, events: EventWriter, commands: queue.Queue[dict[str, Any] | None],
                 threads: int = 0) -> None:
        self.events, self.commands, self.threads = events, commands, threads
        self.llm: Any = None
        self.decoder: Any = None
        self.pending: list[dict[str, Any]] = []

    def serve(self) -> None:
        while True:
            command = self.pending.pop(0) if self.pending else self.commands.get()
            if command is None or command.get("cmd") == "quit":
                break
            self.handle(command)
        self.unload()

    def handle(self, command: dict[str, Any]) -> None:
        name = command.get("cmd")
        handlers = {"load": self.load, "chat": self.chat, "unload": lambda _: self.unload(),
                    "stop": lambda _: None}  # a stop with nothing streaming has nothing to stop
        if name == BAD_LINE:
            self.events.emit("error", message=command["message"])
            return
        if name not in handlers:
            self.events.emit("error", message=f"unknown command {name!r}; use one of"
                             " load, chat, stop, unload, quit", id=command.get("id"))
            return
        try:
            handlers[name](command)
        except (KeyError, TypeError, ValueError, RuntimeError, OSError, StudioError) as error:
            self._failed(name, command, _message(name, error))
        except Exception as error:  # noqa: BLE001 - one command's failure, whatever a hostile
            # GGUF raises (ZeroDivisionError, ...), is an error event: the worker stays up.
            self._failed(name, command, f"{name} failed: {type(error).__name__}: {error}")

    def _failed(self, name: str | None, command: dict[str, Any], message: str) -> None:
        if name == "load":
            self.unload()  # never half-loaded: the next chat says "no model", the next load works
            message = f"{command.get('model')}: {message}"
        self.events.emit("error", message=message[:1000], id=command.get("id"))

    def load(self, command: dict[str, Any]) -> None:
        self.unload()
        started = time.monotonic()
        info = read_gguf(command["model"])
        lora = command.get("lora")
        if lora:
            read_gguf(lora)
        threads = int(command.get("threads") or self.threads) or None
        self.llm = open_llama(
            str(info.path), lora_path=lora, n_ctx=int(command.get("n_ctx") or 2048),
            n_threads=threads, n_gpu_layers=int(command.get("gpu_layers", -1)), verbose=False)
        self.decoder = ChatDecoder(self.llm)
        self.events.emit("loaded", model=str(info.path), lora=lora, n_ctx=self.llm.n_ctx(),
                         backend=decode_backend(),
                         architecture=info.architecture, size_bytes=info.size_bytes,
                         load_s=round(time.monotonic() - started, 3),
                         chat_template=bool(info.chat_template),
                         message=self.decoder.template_note)

    def unload(self) -> None:
        self.decoder = None
        if self.llm is not None:
            self.llm.close()
            self.llm = None

    def chat(self, command: dict[str, Any]) -> None:
        if self.llm is None or self.decoder is None:
            raise RuntimeError("no model is loaded; send a load command first")
        request = ChatRequest(**{k: command[k] for k in ("id", "messages", *SAMPLING_KEYS)
                                 if k in command})
        self._stream(request)

    def _stream(self, request: ChatRequest) -> None:
        started = time.monotonic()
        first = last = None
        pieces: list[str] = []
        stopped = False
        outcome = Decoded()
        stream = self.decoder.stream(request.messages, request.temperature, request.top_p,
                                     request.max_tokens, request.seed, outcome)
        for text in stream:
            last = time.monotonic()
            first = first or last
            pieces.append(text)
            self.events.emit("token", id=request.id, text=text)
            if self._stop_requested():
                stopped = True
                break
        finish = "stopped" if stopped else outcome.finish_reason
        tokens, wall_s = outcome.tokens, time.monotonic() - started
        decode_s = (last - first) if first and last else 0.0
        rate, kind = reply_rate(tokens, decode_s, wall_s)
        self.events.emit(
            "done", id=request.id, text="".join(pieces), tokens=tokens, stopped=stopped,
            finish_reason=finish, ttft_s=round((first or time.monotonic()) - started, 4),
            decode_s=round(decode_s, 4), wall_s=round(wall_s, 4),
            tokens_per_s=None if rate is None else round(rate, 2), rate_kind=kind)

    def _stop_requested(self) -> bool:
        """Take commands that arrived while streaming: a stop ends it, others wait their turn."""
        stop = False
        while True:
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return stop
            if command is None:  # end of input: finish this reply, then exit
                self.pending.append({"cmd": "quit"})
                continue
            if command.get("cmd") == "quit":
                self.pending.append(command)
                return True
            if command.get("cmd") == "stop":
                stop = True
            else:
                self.pending.append(command)


def reply_rate(tokens: int, decode_s: float, wall_s: float) -> tuple[float | None, str]:
    """(tokens per second, "decode" or "overall") of one reply; (None, "none") without tokens.

    The decode speed counts the tokens after the first over the time between the first and the
    last; it is only meaningful with a few tokens spread over a measurable time. Otherwise the
    honest figure is the overall rate, tokens over the wall time since the request arrived.
    """
    if tokens >= MIN_DECODE_TOKENS and decode_s >= MIN_DECODE_S:
        return (tokens - 1) / decode_s, "decode"
    if tokens and wall_s > 0:
        return tokens / wall_s, "overall"
    return None, "none"


def _message(command: str | None, error: BaseException) -> str:
    if isinstance(error, StudioError):
        return str(error)
    if isinstance(error, KeyError):
        return f"the {command} command needs the field {error.args[0]!r}"
    if command == "load" and isinstance(error, ValueError):
        return f"llama.cpp could not load the model: {error}"
    return f"{command} failed: {error}"


def read_commands(source: Any, commands: queue.Queue[dict[str, Any] | None]) -> None:
    """Read JSON lines into ``commands`` (``None`` at end of input); runs on its own thread."""
    for number, line in enumerate(source, 1):
        if not line.strip():
            continue
        try:
            command = json.loads(line)
            if not isinstance(command, dict):
                raise ValueError("a command must be a JSON object")
        except ValueError as error:
            command = {"cmd": BAD_LINE, "message": f"stdin line {number}: not a command ({error})"}
        commands.put(command)
    commands.put(None)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backends.chat", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads when a load command does not say (0: llama.cpp's)")
    return parser


def main(args: argparse.Namespace) -> int:
    events = EventWriter.stdout()
    commands: queue.Queue[dict[str, Any] | None] = queue.Queue()
    # A daemon thread: it blocks on stdin, and must not keep the process alive after quit.
    reader = threading.Thread(target=read_commands, args=(sys.stdin, commands),
                              daemon=True, name="stdin-reader")
    reader.start()
    ChatWorker(events, commands, args.threads).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main(make_parser().parse_args()))
