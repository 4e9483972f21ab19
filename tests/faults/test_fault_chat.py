"""Family 3: the chat worker survives any GGUF. Each hostile file goes through the real worker
protocol: load it, chat, then load the good model and chat; the worker must answer every step
with an event that names the file and the cause, and never crash or hang."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hostile_gguf import MISSING, rewrite

from studio.candidates.generation import GenerationConfig, create_job
from studio.db.store import Store
from studio.events import read_events
from studio.jobs.launch import run_foreground
from studio.paths import DataPaths

TEMPLATE = "tokenizer.chat_template"
TAIL = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
HOSTILE: dict[str, tuple[dict[str, Any], str | None]] = {
    # case: (metadata changes, expected text of the load error, or None when it loads)
    "sandbox escape": ({TEMPLATE: "{{ ''.__class__.__mro__[1].__subclasses__() }}"},
                       "sandbox forbids"),
    "syntax error": ({TEMPLATE: "{% for m in messages %}{{ m }"}, "does not compile"),
    "endless loop": ({TEMPLATE: "{% for a in range(100000) %}{% for b in range(100000) %}"
                                "{% endfor %}{% endfor %}"}, "ran for over 2 s"),
    "one huge string": ({TEMPLATE: "{{ 'x' * 100000000000 }}"}, "builds a string"),
    "100 kB times N": ({TEMPLATE: "{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}"},
                       "produced over 4 MB"),
    "raise_exception": ({TEMPLATE: "{{ raise_exception('no chat for you') }}"},
                        "no chat for you"),
    "endless recursion": ({TEMPLATE: "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"},
                          "RecursionError"),
    "undefined call": ({TEMPLATE: "{{ messages.nothing.here() }}" + TAIL}, "failed"),
    "alignment 0": ({"general.alignment": 0}, "not a power of two"),
    "no template": ({TEMPLATE: MISSING}, None),
    "fails only on long chats": ({TEMPLATE: "{% if messages|length > 4 %}"
                                  "{{ raise_exception('too long') }}{% endif %}" + TAIL}, None),
}


class Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "backends.chat"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)

    def ask(self, *names: str, **command: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        for line in self.process.stdout:
            event = json.loads(line)
            if event["event"] in names:
                return event
        raise AssertionError(f"the worker died (exit {self.process.wait()}) during {command}")


@pytest.fixture
def worker() -> Any:
    running = Worker()
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.wait()


def _chat(worker: Worker, turns: int = 1) -> dict[str, Any]:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"hi {i}"}
                for i in range(2 * turns - 1)]
    return worker.ask("done", "error", cmd="chat", id="r", messages=messages, max_tokens=4,
                      temperature=0)


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_gguf_never_takes_the_worker_down(worker: Worker, demo_gguf: Path,
                                                  tmp_path: Path, case: str) -> None:
    changes, expected = HOSTILE[case]
    bad = rewrite(demo_gguf, tmp_path / "hostile.gguf", changes)
    loaded = worker.ask("loaded", "error", cmd="load", model=str(bad), n_ctx=256)
    if expected is None:
        assert loaded["event"] == "loaded"
        assert _chat(worker)["event"] == "done"
        if case == "no template":
            assert "plain" in loaded["message"]
        else:
            failed = _chat(worker, turns=3)
            assert failed["event"] == "error"
            assert "too long" in failed["message"]
    else:
        assert loaded["event"] == "error"
        assert str(bad) in loaded["message"]
        assert expected in loaded["message"]
        assert "no model is loaded" in _chat(worker)["message"]
    good = worker.ask("loaded", "error", cmd="load", model=str(demo_gguf), n_ctx=256)
    assert good["event"] == "loaded"
    assert _chat(worker)["event"] == "done"
    assert worker.process.stdin is not None
    worker.process.stdin.write('{"cmd": "quit"}\n')
    worker.process.stdin.flush()
    assert worker.process.wait(timeout=30) == 0


def _generate(store: Store, data_paths: DataPaths, gguf: Path) -> list[Any]:
    prompts = [store.add_prompt(text) for text in ("Say hello.", "boom")]
    config = GenerationConfig(model_path=str(gguf), model_name="hostile", prompt_ids=prompts,
                              n=2, max_tokens=6, n_ctx=256, threads=1)
    job = create_job(data_paths.root / "jobs", config, data_paths.db)
    run_foreground("generate", job, lambda event: None)
    return read_events(job / "events.jsonl")


def test_generation_skips_the_prompt_a_template_refuses(
        store: Store, data_paths: DataPaths, demo_gguf: Path, tmp_path: Path) -> None:
    template = "{% if 'boom' in messages[-1]['content'] %}{{ raise_exception('boom refused') }}" \
               "{% endif %}" + TAIL
    gguf = rewrite(demo_gguf, tmp_path / "picky.gguf", {TEMPLATE: template})
    events = _generate(store, data_paths, gguf)
    assert events[-1].event == "finished"
    assert events[-1]["failed"] == 2
    assert any("boom refused" in (e.get("message") or "") for e in events)


def test_generation_with_an_endless_template_fails_cleanly(
        store: Store, data_paths: DataPaths, demo_gguf: Path, tmp_path: Path) -> None:
    changes, expected = HOSTILE["endless loop"]
    gguf = rewrite(demo_gguf, tmp_path / "endless.gguf", changes)
    events = _generate(store, data_paths, gguf)
    assert events[-1].event == "failed"
    assert str(gguf) in events[-1]["message"]
    assert expected in events[-1]["message"]
