"""Driver: does a second task make SmolLM2-135M-Instruct forget the first, and does it matter
whether the second is learned by SFT or by GRPO? (arXiv 2507.05386 says RL forgets less.)

    python bench/real_forgetting.py [FIELD=VALUE ...]      (numbers for bench/results/)

Sequence, through the studio's own pipeline (store -> snapshot -> run folder -> backends.train):
  0. base SmolLM2-135M-Instruct;
  1. task A, one-step sums ("What is A plus B?"), learned by LoRA SFT on gold "A + B = S"
     answers (graded by ``numeric``);
  2. task B, a format rule (the reply starts with "Answer:", which the prompt asks for),
     learned from model 1's adapter (i) by SFT on gold "Answer: ..." replies and (ii) by GRPO
     rewarded by the regex grader ``regex:^\\s*Answer:``.
After each step: A's and B's held-out pass rates (greedy, Wilson 95% intervals, paired McNemar
against the previous model: studio.evaluation.report) and the drift score of the step
(backends.drift: mean per-token KL of the new model from the previous one on the previous
one's greedy answers to the built-in general set's prompts, which no step trained on).

FIELD=VALUE overrides the sizes below (e.g. grpo_steps=10). ``grpo_only=1`` measures the GRPO
branch alone (A by SFT, then B by GRPO against it): no base row and no SFT branch, for a rerun
of that row when the rest is already measured. Run it through ``heavy``.
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

from bench.real_grpo_efficacy import generate
from studio.data.snapshots import export_snapshot
from studio.db.store import Store
from studio.evaluation.drift import DriftConfig, run_drift
from studio.evaluation.general import drift_prompt_ids
from studio.evaluation.graders import parse_spec
from studio.evaluation.report import Result, compare, wilson
from studio.paths import DataPaths
from studio.training.config import TrainConfig
from studio.training.grpo import export_prompt_snapshot
from studio.training.runs import create_run, launch_command
from tests.real_model import smollm2_hf
from tests.rule_task import CAPITALS, THINGS

LORA = {"lora_r": 8, "lora_alpha": 16}
A_GRADER, B_GRADER = "numeric", r"regex:^\s*Answer:"
B_ASK = ' Start your reply with "Answer:".'
SIZES: dict[str, Any] = {"a_train": 40, "a_held_out": 30, "sft_epochs": 3.0, "grpo_steps": 10,
                         "drift_prompts": 30, "drift_tokens": 24, "grpo_only": 0}


def task_a(train: int, held_out: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    rng, seen, items = random.Random(0), set(), []
    while len(items) < train + held_out:
        a, b = rng.randint(2, 40), rng.randint(2, 40)
        if (a, b) not in seen:
            seen.add((a, b))
            items.append((f"What is {a} plus {b}?", f"{a} + {b} = {a + b}"))
    return items[:train], items[train:]


def task_b() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(question, gold reply); every third held out. The gold reply follows the rule."""
    items = [(f"What is the capital of {c}?{B_ASK}", f"Answer: The capital of {c} is {city}.")
             for c, city in CAPITALS]
    items += [(f"What colour is {t}?{B_ASK}", f"Answer: {t[0].upper() + t[1:]} is {col}.")
              for t, col in THINGS]
    held = items[::3]
    return [i for i in items if i not in held], held


def graded(model: str, adapter: str | None, items: list[tuple[str, str]], spec: str
           ) -> list[Result]:
    grader = parse_spec(spec)
    answers = generate(model, adapter, [q for q, _ in items], sample=False)
    ref = {"numeric": lambda r: r.split("=")[-1].strip()}.get(spec, lambda r: None)
    return [Result(str(i), q, a[0], grader.score(q, a[0], ref(r)).passed)
            for i, ((q, r), a) in enumerate(zip(items, answers, strict=True))]


def rate(results: list[Result]) -> dict[str, Any]:
    i = wilson(sum(r.passed for r in results), len(results))
    return {"passed": sum(r.passed for r in results), "n": i.n, "rate": round(i.rate, 3),
            "ci": [round(i.low, 3), round(i.high, 3)]}


def train(root: Path, name: str, config: TrainConfig, snapshot: Path) -> tuple[str, float]:
    paths = DataPaths.at(root / name)
    store = Store.open(paths.db)
    run = create_run(store, paths, config, snapshot)
    start = time.monotonic()
    subprocess.run(launch_command(run.run_dir), check=True)
    events = [json.loads(line) for line in run.dir.events.read_text().splitlines()]
    if events[-1]["event"] != "finished":
        raise RuntimeError(f"{name}: {events[-1]}")
    steps = [e for e in events if e["event"] == "step"]
    if steps and "reward" in steps[0]:
        print(f"  {name} reward per step: {[round(e['reward'], 2) for e in steps]}", flush=True)
    store.close()
    return str(run.dir.adapter), time.monotonic() - start


def labelled_store(root: Path, name: str, items: list[tuple[str, str]], tag: str) -> Store:
    store = Store.open(DataPaths.at(root / name).db)
    for question, answer in items:
        store.label_gold(store.add_prompt(question, tags=[tag], source="bench"), answer, "bench")
    return store


def drift(root: Path, store: Store, model: str, adapter: str, parent_adapter: str | None,
          prompt_ids: list[int], tokens: int) -> dict[str, Any]:
    config = DriftConfig(db=str(DataPaths.at(root / "drift").db),
                         model_id=Path(adapter).parent.name,
                         parent_id=str(parent_adapter), model_path=model, parent_path=model,
                         adapter_path=adapter, parent_adapter_path=parent_adapter,
                         prompt_ids=prompt_ids, max_new_tokens=tokens)
    found = run_drift(store, root / "jobs", config, lambda e: None)
    return {"kl": round(found.kl, 4), "nll_drop": round(found.nll_drop, 4),
            "n_prompts": found.n_prompts, "n_tokens": found.n_tokens, "words": found.words()}


def step(label: str, model: str, adapter: str | None, previous: dict[str, Any] | None,
         a_items: list[tuple[str, str]], b_items: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {"adapter": adapter}
    for task, items, spec in (("A", a_items, A_GRADER), ("B", b_items, B_GRADER)):
        results = graded(model, adapter, items, spec)
        out[task] = rate(results)
        out[f"{task}_results"] = results
        if previous is not None:
            found = compare(previous[f"{task}_results"], results)
            out[task]["vs_previous"] = found.verdict
        print(f"{label}: task {task} {out[task]}", flush=True)
        if task == "B":
            print(f"  e.g. {[r.response[:50] for r in results[:3]]}", flush=True)
    return out


def sft_branch(root: Path, model: str, sizes: dict[str, Any], store_b: Store, a_adapter: str,
               rows: dict[str, Any], a_held: list[tuple[str, str]],
               b_held: list[tuple[str, str]], drift_store: Store, prompt_ids: list[int]) -> None:
    """Task B by SFT, continuing A's adapter: its row and its drift from A's model."""
    snap_b = export_snapshot(store_b, "sft", root / "b" / "snap", eval_fraction=0)
    config = TrainConfig.for_method("sft", model, "quick", num_epochs=sizes["sft_epochs"],
                                    learning_rate=1e-3, batch_size=8, max_length=128,
                                    init_adapter=a_adapter, **LORA)
    sft_b, took = train(root, "b-sft", config, snap_b.path)
    rows["B by SFT"] = step("B by SFT", model, sft_b, rows["A by SFT"], a_held, b_held)
    rows["B by SFT"].update(train_s=round(took), drift=drift(
        root, drift_store, model, sft_b, a_adapter, prompt_ids, sizes["drift_tokens"]))
    print(f"  drift {rows['B by SFT']['drift']}", flush=True)


def main() -> None:
    sizes = {**SIZES, **{k: json.loads(v) for k, v in (a.split("=", 1) for a in sys.argv[1:])}}
    began, model = time.monotonic(), str(smollm2_hf())
    root = Path(tempfile.mkdtemp(prefix="forgetting-"))
    a_train, a_held = task_a(sizes["a_train"], sizes["a_held_out"])
    b_train, b_held = task_b()
    print(f"sizes {sizes}; A {len(a_train)} train / {len(a_held)} held-out, B {len(b_train)}"
          f" / {len(b_held)}; root {root}", flush=True)
    drift_store = Store.open(DataPaths.at(root / "drift").db)
    prompt_ids = drift_prompt_ids(drift_store, own_limit=0)[:sizes["drift_prompts"]]
    rows: dict[str, Any] = {} if sizes["grpo_only"] else {
        "base": step("base", model, None, None, a_held, b_held)}

    store = labelled_store(root, "a", a_train, "sums")
    snap = export_snapshot(store, "sft", root / "a" / "snap", eval_fraction=0)
    config = TrainConfig.for_method("sft", model, "quick", num_epochs=sizes["sft_epochs"],
                                    learning_rate=1e-3, batch_size=8, max_length=128, **LORA)
    a_adapter, took = train(root, "a-run", config, snap.path)
    rows["A by SFT"] = step("A by SFT", model, a_adapter, rows.get("base"), a_held, b_held)
    store_b = labelled_store(root, "b", b_train, "rule")
    if not sizes["grpo_only"]:
        rows["A by SFT"].update(train_s=round(took), drift=drift(
            root, drift_store, model, a_adapter, None, prompt_ids, sizes["drift_tokens"]))
        print(f"  drift {rows['A by SFT']['drift']}", flush=True)
        sft_branch(root, model, sizes, store_b, a_adapter, rows, a_held, b_held,
                   drift_store, prompt_ids)
    grpo_snap = export_prompt_snapshot(store_b, "rule", root / "b" / "grpo-snap")
    config = TrainConfig.for_method(
        "grpo", model, "quick", graders=[B_GRADER], prompts="rule", batch_size=2,
        num_generations=8, max_completion_length=16, temperature=0.7, learning_rate=3e-4,
        max_steps=sizes["grpo_steps"], save_steps=1000, init_adapter=a_adapter, **LORA)
    grpo_b, took = train(root, "b-grpo", config, grpo_snap.path)
    rows["B by GRPO"] = step("B by GRPO", model, grpo_b, rows["A by SFT"], a_held, b_held)
    rows["B by GRPO"].update(train_s=round(took), drift=drift(
        root, drift_store, model, grpo_b, a_adapter, prompt_ids, sizes["drift_tokens"]))
    print(f"  drift {rows['B by GRPO']['drift']}", flush=True)

    for row in rows.values():
        row.pop("A_results")
        row.pop("B_results")
    print("RESULT " + json.dumps(rows), flush=True)
    print(f"total wall {time.monotonic() - began:.0f} s", flush=True)


if __name__ == "__main__":
    main()
