"""Issue 21's afternoon, played headless on the real SmolLM2-135M-Instruct starter: the default
path makes a better model, and shows it.

1. First start: the starter model (a folder converted from its Q4_1 GGUF) is registered, and
   that GGUF makes it chat-ready: candidates come from it with no export.
2. 1,000 public rows are imported (plain answers, which do not follow the person's rule).
3. The person asks 33 questions, the starter answers each once, and the person labels about
   50 answers by a rule ("Answer: ... — Done."): each answer breaks it, so the person edits it
   into a gold answer that follows it, and thumbs-down about half of the originals.
4. Train with the defaults (the readiness panel's method, the default preset, the default
   scope) and a 20-minute budget: the run trains on the person's labels only.
5. Export with the defaults and evaluate base and tuned on 17 held-out questions (the eval
   report's McNemar test): the tuned model follows the rule significantly more often.

The whole test must take at most 30 minutes on an idle 2-core machine; its numbers are in
bench/results/2026-12-07-real-afternoon.txt.
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
from pathlib import Path

import pytest

from studio.app.train_scope import describe_scope
from studio.app.training import launch_training
from studio.candidates.generation import GenerationConfig, create_job
from studio.cli.main import main
from studio.data.importing import import_path
from studio.data.snapshots import load_manifest, readiness
from studio.db.store import Store
from studio.events import Event
from studio.jobs.launch import follow, log_tail, run_foreground, spawn
from studio.paths import DataPaths
from studio.registry.models import add_base_model, chat_targets, list_models
from studio.training.config import TrainConfig, field_defaults
from studio.training.runs import sync_run
from tests.rule_task import passes, rule_answer, split

log = logging.getLogger(__name__)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(45 * 60)]
RULE_SPEC = r"regex:^Answer:.*— Done\.$"
PERSON = "me"
BUDGET_MINUTES = 20


def public_rows(path: Path, count: int = 1000) -> Path:
    """A public instruction set: plain answers, none of them in the person's format."""
    rows = [{"instruction": f"What is {a} times {b}?", "output": f"{a} times {b} is {a * b}."}
            for a in range(2, 60) for b in range(2, 60)][:count]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def generate(store: Store, paths: DataPaths, prompt_ids: list[int]) -> int:
    """The Generate dialog's job: one candidate per prompt from the first chat-ready model."""
    (name, model_path, lora_path), *_ = chat_targets(store)
    config = GenerationConfig(model_path=model_path, model_name=name, lora_path=lora_path,
                              prompt_ids=prompt_ids, n=1, max_tokens=48)
    for _attempt in range(2):  # a job killed from outside resumes: only what is missing
        job = create_job(paths.root / "jobs", config, paths.db)
        last = run_foreground("generate", job, lambda event: None)
        if last is not None:
            break
        log.warning("the generate job stopped without a word: %s", log_tail(job, "generate"))
        config.prompt_ids = [p for p in prompt_ids if not model_answers(store, p)]
    assert last is not None
    assert last.event == "finished", last.get("message")
    return sum(1 for p in prompt_ids if model_answers(store, p))


def model_answers(store: Store, prompt_id: int) -> list[int]:
    return [r.id for r in store.responses_for(prompt_id) if r.origin == "model"]


def label_by_rule(store: Store, prompt_ids: list[int], plain: dict[int, str]) -> int:
    """A person applying the rule: an answer that follows it gets a thumb up; one that does
    not is edited into a gold answer that does, and every other original gets a thumb down."""
    made = 0
    for index, prompt_id in enumerate(prompt_ids):
        (candidate,) = [r for r in store.responses_for(prompt_id) if r.origin == "model"]
        if passes(candidate.text):
            store.label_thumb(candidate.id, "up", PERSON)
            made += 1
            continue
        store.label_gold(prompt_id, rule_answer(plain[prompt_id]), PERSON,
                         parent_id=candidate.id)
        made += 1
        if index % 2 == 0:
            store.label_thumb(candidate.id, "down", PERSON)
            made += 1
    return made


def train(store: Store, paths: DataPaths, config: TrainConfig) -> tuple[str, list[Event]]:
    children: list[subprocess.Popen[bytes]] = []

    def launch(module: str, job_dir: Path) -> int:
        children.append(spawn(module, job_dir))
        return children[-1].pid

    launched = launch_training(store, paths, config, launcher=launch)
    assert launched.run is not None, [str(c) for c in launched.checks]
    events: list[Event] = []
    follow(launched.run.run_dir, children[0], events.append)
    done = sync_run(store, launched.run.id)
    assert done.status == "completed", log_tail(launched.run.run_dir, "train", 40)
    return launched.run.id, events


def cli_json(capsys: pytest.CaptureFixture[str], root: Path, *argv: str) -> dict:
    capsys.readouterr()
    assert main(["--data-dir", str(root), *argv]) == 0
    return dict(json.loads(capsys.readouterr().out))


def test_an_afternoon_makes_a_better_model(real_model_dir: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    began = time.monotonic()
    marks: dict[str, float] = {}
    paths = DataPaths.at(tmp_path / "data")
    store = Store.open(paths.db)
    base = add_base_model(store, real_model_dir, name="SmolLM2")  # "Start with a real model"
    assert chat_targets(store), "the starter's Q4_1 GGUF makes it chat-ready"
    import_path(store, public_rows(tmp_path / "public.jsonl"))
    train_pairs, held_out = split()
    prompt_ids = [store.add_prompt(q, source="my-questions") for q, _ in train_pairs]
    plain = dict(zip(prompt_ids, (a for _, a in train_pairs), strict=True))
    marks["setup"] = time.monotonic() - began

    assert generate(store, paths, prompt_ids) == len(prompt_ids)
    marks["generate"] = time.monotonic() - began
    labels = label_by_rule(store, prompt_ids, plain)
    assert 45 <= labels <= 55

    method = readiness(store).recommended  # the readiness panel's choice
    assert method == "sft"
    scope = describe_scope(store, method)
    assert scope.selector == "mine", scope.why  # the person's labels only, by default
    preset = field_defaults()["preset"]
    config = TrainConfig.for_method(method, base.path, preset,
                                    time_budget_minutes=BUDGET_MINUTES)
    run_id, events = train(store, paths, config)
    marks["train"] = time.monotonic() - began
    (started,) = [e for e in events if e.event == "started"]
    manifest = load_manifest(Path(paths.runs / run_id / "snapshot"))
    assert manifest["scope"] == "mine"
    assert manifest["counts"]["train"] + manifest["counts"]["eval"] == len(prompt_ids)
    wall = events[-1].get("wall_s") or 0
    assert wall < BUDGET_MINUTES * 60

    (adapter,) = [m for m in list_models(store, "adapter") if m.run_id == run_id]
    capsys.readouterr()
    assert main(["--data-dir", str(paths.root), "export-model", adapter.id]) == 0
    marks["export"] = time.monotonic() - began

    questions = tmp_path / "held-out.jsonl"
    questions.write_text("".join(json.dumps({"question": q}) + "\n" for q, _ in held_out))
    assert main(["--data-dir", str(paths.root), "evalset", "create", "rule-held-out",
                 "--from-file", str(questions), "--grader", RULE_SPEC]) == 0
    before = cli_json(capsys, paths.root, "eval", "--set", "rule-held-out", "--model", base.id,
                      "--max-new-tokens", "32", "--json")
    after = cli_json(capsys, paths.root, "eval", "--set", "rule-held-out", "--model",
                     adapter.id, "--max-new-tokens", "32", "--json")
    marks["eval"] = time.monotonic() - began
    rise = after["comparison"]
    summary = (f"{labels} labels on {len(prompt_ids)} of {len(prompt_ids) + 1000} prompts;"
               f" {scope.why} budget {BUDGET_MINUTES} min: {started['budget']};"
               f" {started['max_steps']} steps in {wall} s; held-out {before['engine']}"
               f" base vs tuned: {rise['before']} -> {rise['after']}, {rise['verdict']};"
               f" stages (s since start): {marks}")
    log.info(summary)
    assert before["n"] == after["n"] == len(held_out)
    assert before["engine"] == after["engine"] == "llama.cpp"  # the GGUFs a person chats with
    assert rise["p_value"] < 0.05, summary
    assert rise["verdict"].startswith("significantly better"), summary
    assert time.monotonic() - began < 30 * 60, summary
    store.close()
