"""Driver: GRPO and rejection-sampling SFT on SmolLM2-135M-Instruct with a programmatic
grader, through the studio's own pipeline (store -> snapshot -> run folder -> backends.train),
measured on held-out prompts before and after (numbers for bench/results/).

    python bench/real_grpo_efficacy.py [measure | grpo | rs | all | eval ADAPTER]
                                       [FIELD=VALUE ...]

FIELD=VALUE overrides the GRPO config (or, with ``rs``, the SFT config). On a shared CPU run it
under ``taskset -c 0``: one thread per process was ~10x faster per GRPO step than two here.

The task: one-step sums, "What is A plus B? Answer with just the number." (a gold answer per
training prompt is the reference). Held-out prompts are an eval set, so they never reach a
training snapshot. Two graders measure the held-out greedy answers: ``numeric`` (the sum is
right) and ``strict`` (right *and* just the number, as the prompt asks). GRPO is rewarded by
``numeric``; rejection sampling keeps the best of N candidates by ``numeric``. (Rewarding the
format rule as well taught the model to answer with a bare, wrong number: it writes the sum
right only after writing "A + B =", so the format reward won and the numeric one fell to 0;
see bench/results/2026-12-03-real-grpo-efficacy.txt.) Before/after is the eval report's
paired comparison (McNemar).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from studio.candidates.best_of_n import best_of_n
from studio.db.store import Store
from studio.evaluation.evalsets import create_eval_set
from studio.evaluation.graders import parse_spec
from studio.evaluation.report import Result, compare, wilson
from studio.paths import DataPaths
from studio.training.config import TrainConfig
from studio.training.grpo import export_prompt_snapshot
from studio.training.runs import create_run, launch_command
from tests.real_model import smollm2_hf
from tests.rule_task import load_model

GRADER = "numeric"
FORMAT = r"regex:^\s*\d+\.?\s*$"  # just the number, as the prompt asks
STRICT = f"all:{GRADER};;{FORMAT}"
GRPO_GRADERS = [GRADER]
TAG = "sums"
MAX_TOKENS = 24
HELD_OUT = 60


def task(train: int = 40, held_out: int = HELD_OUT, seed: int = 0) -> tuple[list[tuple[str, str]],
                                                                       list[tuple[str, str]]]:
    """(question, answer) pairs; the held-out ones share no (A, B) with training."""
    rng = random.Random(seed)
    seen: set[tuple[int, int]] = set()
    items = []
    while len(items) < train + held_out:
        a, b = rng.randint(2, 40), rng.randint(2, 40)
        if (a, b) not in seen:
            seen.add((a, b))
            items.append((f"What is {a} plus {b}? Answer with just the number.", str(a + b)))
    return items[:train], items[train:]


def generate(model_dir: str, adapter: str | None, questions: list[str], sample: bool,
             n: int = 1, seed: int = 0, temperature: float = 1.0) -> list[list[str]]:
    """``n`` replies per question (greedy or sampled at ``temperature``), batched."""
    import torch

    torch.manual_seed(seed)
    # One thread: on a shared, overloaded machine two spinning threads got ~20% of a core.
    torch.set_num_threads(1)
    tokenizer, model = load_model(model_dir, adapter)
    tokenizer.padding_side = "left"
    out: list[list[str]] = []
    for start in range(0, len(questions), 8):
        chats = [tokenizer.apply_chat_template([{"role": "user", "content": q}],
                                               add_generation_prompt=True, tokenize=False)
                 for q in questions[start:start + 8]]
        enc = tokenizer(chats, return_tensors="pt", padding=True, add_special_tokens=False)
        extra = {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0} \
            if sample \
            else {"do_sample": False}
        with torch.no_grad():
            ids = model.generate(**enc, max_new_tokens=MAX_TOKENS, num_return_sequences=n,
                                 pad_token_id=tokenizer.eos_token_id, **extra)
        texts = tokenizer.batch_decode(ids[:, enc["input_ids"].shape[1]:],
                                       skip_special_tokens=True)
        out += [texts[i:i + n] for i in range(0, len(texts), n)]
    return out


def pass_rate(answers: list[list[str]], items: list[tuple[str, str]]) -> tuple[int, int]:
    grader = parse_spec(GRADER)
    graded = [grader.score(q, a, ref).passed for (q, ref), group in zip(items, answers,
                                                                       strict=True)
              for a in group]
    return sum(graded), len(graded)


def report(name: str, passed: int, n: int) -> str:
    interval = wilson(passed, n)
    lo, hi = interval.low, interval.high
    return f"{name} {passed}/{n} = {passed / n:.0%} [95% CI {lo:.2f}, {hi:.2f}]"


def results(answers: list[list[str]], items: list[tuple[str, str]], spec: str) -> list[Result]:
    """The eval report's per-prompt results of the first answer to each held-out prompt."""
    grader = parse_spec(spec)
    return [Result(str(i), q, group[0], grader.score(q, group[0], ref).passed)
            for i, ((q, ref), group) in enumerate(zip(items, answers, strict=True))]


def before_after(base: list[list[str]], tuned: list[list[str]], items: list[tuple[str, str]]
                 ) -> dict[str, Any]:
    """Both graders' before/after comparisons, printed and returned (rates, p, verdict)."""
    out: dict[str, Any] = {}
    for name, spec in (("numeric", GRADER), ("strict", STRICT)):
        comparison = compare(results(base, items, spec), results(tuned, items, spec))
        before, after = comparison.before, comparison.after
        print(f"  {name:8} base {round(before.rate * before.n)}/{before.n}"
              f" [{before.low:.2f}, {before.high:.2f}] -> tuned"
              f" {round(after.rate * after.n)}/{after.n} [{after.low:.2f}, {after.high:.2f}]:"
              f" {comparison.verdict}", flush=True)
        out[name] = {"before": before.rate, "after": after.rate, "n": after.n,
                     "p": comparison.p_value, "verdict": comparison.verdict}
    return out


def setup_store(root: Path, train: list[tuple[str, str]], held_out: list[tuple[str, str]]
                ) -> tuple[Store, DataPaths]:
    paths = DataPaths.at(root / "data")
    store = Store.open(paths.db)
    for question, answer in train:
        prompt_id = store.add_prompt(question, tags=[TAG], source="bench")
        store.label_gold(prompt_id, answer, "bench")  # the reference the grader checks
    evalset = root / "held-out.jsonl"
    evalset.write_text("".join(json.dumps({"question": q, "answer": a}) + "\n"
                               for q, a in held_out))
    create_eval_set(store, "sums-held-out", GRADER, from_file=evalset)
    return store, paths


def train_run(store: Store, paths: DataPaths, config: TrainConfig, snapshot: Path
              ) -> tuple[float, str]:
    run = create_run(store, paths, config, snapshot)
    start = time.monotonic()
    subprocess.run(launch_command(run.run_dir), check=True)
    events = [json.loads(line) for line in run.dir.events.read_text().splitlines()]
    assert events[-1]["event"] == "finished", events[-1]
    steps = [e for e in events if e["event"] == "step"]
    if steps and "reward" in steps[0]:
        rewards = [round(e["reward"], 2) for e in steps]
        print(f"  reward per step: {rewards}", flush=True)
        print(f"  frac_reward_zero_std per step:"
              f" {[round(e['frac_reward_zero_std'], 2) for e in steps]}", flush=True)
    config.save(paths.root / f"{config.method}-config.json")
    return time.monotonic() - start, str(run.dir.adapter)


def run_grpo(store: Store, paths: DataPaths, model: str, overrides: dict[str, Any]
             ) -> tuple[float, str]:
    snapshot = export_prompt_snapshot(store, TAG, paths.snapshots / "grpo")
    values: dict[str, Any] = {"graders": GRPO_GRADERS, "prompts": TAG, "batch_size": 2,
                              "num_generations": 8, "max_completion_length": 16,
                              "temperature": 0.7, "learning_rate": 3e-4, "max_steps": 60,
                              "lora_r": 8, "lora_alpha": 16, "completions_every": 10,
                              "save_steps": 1000, **overrides}
    config = TrainConfig.for_method("grpo", model, "quick", **values)
    print(f"grpo settings: {values}", flush=True)
    return train_run(store, paths, config, snapshot.path)


def run_rejection_sampling(store: Store, paths: DataPaths, model: str,
                           train: list[tuple[str, str]], overrides: dict[str, Any]
                           ) -> tuple[float, str]:
    start = time.monotonic()
    samples = generate(model, None, [q for q, _ in train], sample=True, n=8, seed=1,
                       temperature=0.7)
    for (question, _), group in zip(train, samples, strict=True):
        prompt_id = store.add_prompt(question, tags=[TAG], source="bench")
        for index, text in enumerate(group):
            store.add_response(prompt_id, text.strip() or "(empty)", origin="model",
                               model="smollm2-base", gen_params={"candidate": index},
                               source="generate")
    snapshot = best_of_n(store, GRADER, paths.snapshots / "best-of-n")
    print(f"  best-of-8 kept {snapshot.counts['train']} of {len(train)} prompts"
          f" (sampling {time.monotonic() - start:.0f} s)", flush=True)
    values: dict[str, Any] = {"num_epochs": 3.0, "learning_rate": 1e-3, "lora_r": 8,
                              "lora_alpha": 16, "batch_size": 8, "max_length": 128,
                              **overrides}
    config = TrainConfig.for_method("sft", model, "quick", **values)
    print(f"rejection-sampling sft settings: {values}", flush=True)
    _, adapter = train_run(store, paths, config, snapshot.path)
    return time.monotonic() - start, adapter


def efficacy(mode: str, overrides: dict[str, Any], adapter: str | None = None
             ) -> dict[str, Any]:
    """Train (``grpo``, ``rs`` or ``all``; ``eval`` only measures ``adapter``) and return each
    method's before/after on the held-out prompts."""
    model = str(smollm2_hf())
    train, held_out = task()
    questions = [q for q, _ in held_out]
    base = generate(model, None, questions, sample=False)
    print(report("base greedy (held-out, numeric)", *pass_rate(base, held_out)), flush=True)
    out: dict[str, Any] = {}
    if mode == "measure":
        sampled = generate(model, None, [q for q, _ in train], sample=True, n=4,
                           temperature=0.7)
        print(report("base sampled x4 at 0.7 (train prompts)", *pass_rate(sampled, train)))
        return out
    if mode == "eval":
        print(f"adapter {adapter}", flush=True)
        out["eval"] = before_after(base, generate(model, adapter, questions, sample=False),
                                   held_out)
        return out
    root = Path(tempfile.mkdtemp(prefix="grpo-eff-"))
    store, paths = setup_store(root, train, held_out)
    runs = {"grpo": lambda: run_grpo(store, paths, model, overrides),
            "rs": lambda: run_rejection_sampling(store, paths, model, train,
                                                 overrides if mode == "rs" else {})}
    for name in ("grpo", "rs") if mode == "all" else (mode,):
        took, trained = runs[name]()
        tuned = generate(model, trained, questions, sample=False)
        print(f"{name}: wall {took:.0f} s, adapter {trained}", flush=True)
        out[name] = before_after(base, tuned, held_out)
        print("  e.g.", [t[0] for t in tuned[:6]], flush=True)
    store.close()
    return out


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "all"
    adapter = sys.argv[2] if mode == "eval" else None
    overrides = {k: json.loads(v) for k, v in (a.split("=", 1) for a in sys.argv[2:]
                                               if "=" in a)}
    began = time.monotonic()
    efficacy(mode, overrides, adapter)
    print(f"total wall {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
