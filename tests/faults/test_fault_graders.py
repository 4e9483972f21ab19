"""Family 7: graders never hang a run and can always be stopped. Each rule scores in a worker
with a time limit per answer (a timeout or a crash is that answer's 0 with a reason naming the
grader and the cause); a stop ends an eval or GRPO run within 10 s whatever a grader does; a
json-schema that cannot work is refused at ``evalset create`` with a message."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from backends.lib.train_synthetic import populate
from studio.db.store import Store
from studio.evaluation.auto import eval_config
from studio.evaluation.evalsets import EvalSetError, create_eval_set
from studio.evaluation.graders import parse_spec
from studio.evaluation.graders.numeric import NumericGrader
from studio.evaluation.graders.rules import JsonGrader
from studio.evaluation.graders.sandbox import GraderLimits, close_all, isolate
from studio.evaluation.graders.spec import GraderSpecError
from studio.evaluation.jobs import EVAL_MODULE, get_eval_run
from studio.events import read_events
from studio.jobs.launch import STOP_FILE, spawn, write_job
from studio.paths import DataPaths
from studio.registry.models import add_base_model
from studio.training.config import TrainConfig
from studio.training.grpo import export_prompt_snapshot
from studio.training.runs import cancel_run, create_run, start_next, sync_run

LIMIT = GraderLimits(time_s=2.0)
SLOW = 2.0 + 15.0  # the limit plus a worker's start on a loaded machine
PYTHON_GRADERS = {
    # case: (body of grade(), expected text in the reason, expected score)
    "prints": ("print('chatty'); print(); return 0.75, 'fine'", "fine", 0.75),
    "os._exit(0)": ("import os; os._exit(0)", "not exit (exit code 0)", 0.0),
    "sys.exit(3)": ("import sys; sys.exit(3)", "called exit(3)", 0.0),
    "hangs": ("import time; time.sleep(600)", "timed out after 2 s", 0.0),
    "allocates 8 GB": ("x = bytearray(8 * 2**30); return 1.0", "out of memory", 0.0),
    "returns NaN": ("return float('nan')", "not a number", 0.0),
    "returns text": ("return 'yes'", "must return a number", 0.0),
}


def _grader_file(tmp_path: Path, body: str, name: str = "g.py") -> Path:
    path = tmp_path / name
    path.write_text(f"def grade(prompt, response, reference):\n    {body}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("case", list(PYTHON_GRADERS))
def test_a_python_grader_cannot_break_the_run(tmp_path: Path, case: str) -> None:
    body, expected, score = PYTHON_GRADERS[case]
    grader = isolate(parse_spec(f"python:{_grader_file(tmp_path, body)}"), LIMIT)
    try:
        started = time.monotonic()
        first = grader.score("p", "r", None)
        assert time.monotonic() - started < SLOW
        assert expected in first.reason
        assert first.score == score
        if score == 0.0 and "fine" not in expected:
            assert "g.py" in first.reason  # the grader is named
        assert grader.score("p", "r", None).reason == first.reason  # the next answer too
    finally:
        close_all(grader)


DAEMON = ("import os, subprocess, time\n"
          "    if os.fork() == 0:\n"
          "        os.setsid()  # a session of its own: the worker's process group misses it\n"
          "        child = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
          "        open({marker!r}, 'w').write(str(child.pid))\n"
          "        os._exit(0)\n"
          "    time.sleep(600)")


@pytest.mark.parametrize("how", ["child", "daemon"])
def test_a_grader_that_starts_children_loses_them_at_the_limit(tmp_path: Path, how: str) -> None:
    marker = tmp_path / "child.pid"
    body = (f"import subprocess, time; child = subprocess.Popen(['sleep', '600']);"
            f" open({str(marker)!r}, 'w').write(str(child.pid)); time.sleep(600)"
            if how == "child" else DAEMON.format(marker=str(marker)))
    grader = isolate(parse_spec(f"python:{_grader_file(tmp_path, body)}"), LIMIT)
    try:
        assert "timed out" in grader.score("p", "r", None).reason
    finally:
        close_all(grader)
    child = int(marker.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(child) and psutil.Process(child).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the grader's child outlived the limit"
        time.sleep(0.1)


@pytest.mark.parametrize(("spec", "response"), [
    ("regex:^(a+)+$", "a" * 30 + "!"),
    ("not-regex:(x+x+)+y", "x" * 40),
])
def test_a_backtracking_regex_times_out_as_one_answer(spec: str, response: str) -> None:
    grader = isolate(parse_spec(spec), LIMIT)
    try:
        started = time.monotonic()
        grade = grader.score("p", response, None)
        assert time.monotonic() - started < SLOW
        assert grade.score == 0.0
        assert "timed out after 2 s" in grade.reason
        assert spec in grade.reason
        assert grader.score("p", "aaa", None).score == 1.0  # a fresh worker for the next one
    finally:
        close_all(grader)


@pytest.mark.parametrize(("grader", "response"), [
    (NumericGrader(), "1" * 100_000),
    (JsonGrader(), "[" * 100_000),
    (JsonGrader(), "```" + " " * 20_000 + "x"),
    (JsonGrader({"type": "array"}), "[" * 5_000 + "]" * 5_000),
], ids=["numeric 100k digits", "json 100k deep", "json fence spaces",
        "json-schema deep value"])
def test_a_rule_is_linear_and_never_raises(grader: object, response: str) -> None:
    started = time.monotonic()
    grade = grader.score("p", response, "4")  # type: ignore[attr-defined]
    assert time.monotonic() - started < 3.0
    assert 0.0 <= grade.score <= 1.0


SCHEMAS = {
    # case: (file content, expected message)
    "14 MB": (json.dumps({"description": "x" * 14_000_000}), "at most 1 MB"),
    "$ref to itself": (json.dumps({"$ref": "#"}), "loops back"),
    "a list": ("[1, 2]", "not a list"),
    "type 5": (json.dumps({"type": 5}), "not a valid JSON Schema"),
    "5,000 deep": ('{"items": ' * 5000 + "{}" + "}" * 5000, "nested deeper than 64"),
    "remote $ref": (json.dumps({"$ref": "http://example.com/s.json"}), "outside the file"),
}


@pytest.mark.parametrize("case", list(SCHEMAS))
def test_a_schema_that_cannot_work_is_refused_at_create(store: Store, tmp_path: Path,
                                                        case: str) -> None:
    content, expected = SCHEMAS[case]
    schema = tmp_path / "schema.json"
    schema.write_text(content, encoding="utf-8")
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"question": "give JSON"}) + "\n")
    started = time.monotonic()
    with pytest.raises((GraderSpecError, EvalSetError), match=expected):
        create_eval_set(store, "s", f"json-schema:{schema}", from_file=questions)
    assert time.monotonic() - started < 5.0


def test_a_backtracking_schema_pattern_times_out_as_one_answer(tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"type": "string", "pattern": "^(a+)+$"}))
    grader = isolate(parse_spec(f"json-schema:{schema}"), LIMIT)
    try:
        assert "timed out" in grader.score("p", json.dumps("a" * 30 + "!"), None).reason
        assert grader.score("p", json.dumps("aaa"), None).score == 1.0
    finally:
        close_all(grader)


def _eval_job(store: Store, data_paths: DataPaths, demo_model_dir: Path, tmp_path: Path,
              grader: Path, questions: list[str], time_s: float) -> Path:
    source = tmp_path / "questions.jsonl"
    source.write_text("".join(json.dumps({"question": q}) + "\n" for q in questions))
    create_eval_set(store, "held", f"python:{grader}", from_file=source)
    model = add_base_model(store, demo_model_dir)
    config = eval_config(store, "held", model.id, max_new_tokens=4)
    config.grader_time_s = time_s
    return write_job(config, data_paths.root / "jobs", "eval")


@pytest.mark.parametrize("how", ["stop file", "SIGTERM"])
def test_a_stop_ends_an_eval_run_while_its_grader_hangs(
        store: Store, data_paths: DataPaths, demo_model_dir: Path, tmp_path: Path, how: str,
        record_property: Callable[[str, object], None]) -> None:
    marker = tmp_path / "grading"
    # A child holding the grader's pipes, then a hang: kill -9 of the grader alone is not enough.
    body = (f"import subprocess, time; subprocess.Popen(['sleep', '600']);"
            f" open({str(marker)!r}, 'w').write('x'); time.sleep(600)")
    job = _eval_job(store, data_paths, demo_model_dir, tmp_path,
                    _grader_file(tmp_path, body), ["one", "two"], time_s=300)
    process = spawn(EVAL_MODULE, job)
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            assert process.poll() is None, (job / "eval.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        asked = time.monotonic()
        if how == "stop file":
            (job / STOP_FILE).write_text("now")
        else:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        record_property("stop_s", round(time.monotonic() - asked, 2))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    events = read_events(job / "events.jsonl")
    assert events[-1].event == "cancelled"
    run_id = next(e["run_id"] for e in events if e.event == "started")
    assert get_eval_run(store, run_id).status == "cancelled"


def test_one_answer_times_out_and_the_eval_run_goes_on(
        store: Store, data_paths: DataPaths, demo_model_dir: Path, tmp_path: Path) -> None:
    # The slow answer leaves a child holding the grader's pipes: only a group kill ends it.
    marker = tmp_path / "child.pid"
    body = ("import subprocess, time\n    if 'slow' in prompt:\n"
            "        child = subprocess.Popen(['sleep', '600'])\n"
            f"        open({str(marker)!r}, 'w').write(str(child.pid)); time.sleep(600)\n"
            "    return 1.0, 'quick'")
    job = _eval_job(store, data_paths, demo_model_dir, tmp_path, _grader_file(tmp_path, body),
                    ["fast one", "slow one", "fast two"], time_s=2.0)
    process = spawn(EVAL_MODULE, job)
    try:
        process.wait(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    last = read_events(job / "events.jsonl")[-1]
    assert last.event == "finished", last.fields
    rows = store.db.execute("SELECT p.text, r.score, r.reason FROM eval_results r JOIN prompts p"
                            " ON p.id = r.prompt_id WHERE r.run_id = ?",
                            [last["run_id"]]).fetchall()
    reasons = {text: (score, reason) for text, score, reason in rows}
    assert reasons["fast one"] == (1.0, "quick")
    assert reasons["fast two"] == (1.0, "quick")
    assert reasons["slow one"][0] == 0.0
    assert "timed out after 2 s" in reasons["slow one"][1]
    child = int(marker.read_text())
    assert not psutil.pid_exists(child) or \
        psutil.Process(child).status() == psutil.STATUS_ZOMBIE, "the grader's child outlived it"


def test_a_stop_ends_a_grpo_run_while_its_grader_hangs(
        store: Store, data_paths: DataPaths, demo_model_dir: Path, tmp_path: Path,
        record_property: Callable[[str, object], None]) -> None:
    marker = tmp_path / "grading"
    body = (f"import subprocess, time; subprocess.Popen(['sleep', '600']);"
            f" open({str(marker)!r}, 'w').write('x'); time.sleep(600)")
    populate(store, 6)
    snapshot = export_prompt_snapshot(store, "synthetic", data_paths.snapshots / "g")
    config = TrainConfig.for_method(
        "grpo", str(demo_model_dir), "quick", graders=[f"python:{_grader_file(tmp_path, body)}"],
        prompts="synthetic", snapshot_dir=str(snapshot.path), max_steps=3, batch_size=2,
        num_generations=2, max_completion_length=8, lora_r=8, lora_alpha=16)
    run = create_run(store, data_paths, config, snapshot.path)
    started = start_next(store, data_paths)
    assert started is not None
    assert started.pid
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert psutil.pid_exists(started.pid), run.dir.log.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        asked = time.monotonic()
        cancel_run(store, run.id)
        while psutil.pid_exists(started.pid) and \
                psutil.Process(started.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() - asked < 10, "the run did not stop within 10 s"
            time.sleep(0.1)
        record_property("stop_s", round(time.monotonic() - asked, 2))
    finally:
        if psutil.pid_exists(started.pid):
            psutil.Process(started.pid).kill()
    assert sync_run(store, run.id).status == "cancelled"
    assert read_events(run.dir.events)[-1].event == "cancelled"
