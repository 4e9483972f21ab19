"""The chat worker process on the tiny model's GGUFs: load, stream, stop, errors, LoRA."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_export_helpers import shared_exports


class Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "backends.chat"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)

    def send(self, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def until(self, *names: str) -> list[dict[str, Any]]:
        assert self.process.stdout is not None
        events = []
        for line in self.process.stdout:
            events.append(json.loads(line))
            if events[-1]["event"] in names:
                return events
        raise AssertionError(f"the worker ended before {names}: {events}")

    def close(self) -> int:
        self.send(cmd="quit")
        return self.process.wait(timeout=30)


@pytest.fixture
def worker() -> Any:
    running = Worker()
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def test_stream_is_reproducible_and_stoppable(
    worker: Worker, demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    exports = shared_exports(tmp_path_factory, demo_model_dir)
    worker.send(cmd="load", model=str(exports["tuned_q4"]), n_ctx=512)
    (loaded,) = worker.until("loaded")
    assert loaded["architecture"] == "llama"
    # Every layer is asked for on the GPU; this CPU-only build says where it decodes.
    assert loaded["backend"] == "cpu"
    chat = {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 16, "seed": 7}
    replies = []
    for request in ("r1", "r2"):
        worker.send(cmd="chat", id=request, **chat)
        events = worker.until("done")
        tokens = [e for e in events if e["event"] == "token"]
        assert tokens
        assert all(e["id"] == request for e in tokens)
        done = events[-1]
        assert done["text"] == "".join(e["text"] for e in tokens)
        assert done["ttft_s"] >= 0
        # Tokens, not pieces: a piece can hold several tokens (a multi-byte character, text
        # held back while it might begin a stop string), and a token can decode to nothing.
        assert done["tokens"] >= len(tokens)
        assert done["rate_kind"] in ("decode", "overall")
        assert 0 < done["tokens_per_s"] < 100_000
        replies.append(done["text"])
    assert replies[0] == replies[1]  # same seed, same reply
    worker.send(cmd="chat", id="long", messages=chat["messages"], max_tokens=400,
                temperature=1.0)
    worker.send(cmd="stop")
    assert worker.until("done")[-1]["finish_reason"] in ("stopped", "length", "stop")
    assert worker.close() == 0


def test_bad_inputs_are_errors_and_the_worker_lives_on(
    worker: Worker, demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> None:
    exports = shared_exports(tmp_path_factory, demo_model_dir)
    (tmp_path / "bad.gguf").write_text("not a model")
    (tmp_path / "cut.gguf").write_bytes(exports["base"].read_bytes()[:5000])
    expected = {str(tmp_path / "gone.gguf"): "does not exist",
                str(tmp_path / "bad.gguf"): "not a GGUF file",
                str(tmp_path / "cut.gguf"): "truncated"}
    for path, message in expected.items():
        worker.send(cmd="load", model=path)
        assert message in worker.until("error")[-1]["message"]
    worker.send(cmd="chat", id="x", messages=[])
    assert "no model is loaded" in worker.until("error")[-1]["message"]
    worker.send(cmd="dance")
    assert "unknown command" in worker.until("error")[-1]["message"]
    # Base + adapter GGUF: llama.cpp applies the LoRA at load time.
    worker.send(cmd="load", model=str(exports["base"]), lora=str(exports["lora"]), n_ctx=256)
    assert worker.until("loaded")[-1]["lora"] == str(exports["lora"])
    assert worker.close() == 0


def test_reply_rate_is_never_absurd() -> None:
    from backends.chat import reply_rate

    # The seen case: a long wait, then the reply in one burst (2 pieces 36 µs apart).
    rate, kind = reply_rate(2, 0.0000359, 8.39)
    assert kind == "overall"
    assert rate == pytest.approx(2 / 8.39)
    assert reply_rate(30, 0.01, 8.0)[1] == "overall"  # many tokens, but no measurable time
    rate, kind = reply_rate(21, 1.0, 1.5)
    assert (rate, kind) == (20.0, "decode")
    assert reply_rate(0, 0.0, 0.3) == (None, "none")
