"""Eval of the real SmolLM2-135M-Instruct on the rule task's held-out prompts through both
engines of the eval job (llama.cpp on the original Q4_1 GGUF, transformers on the fp32 folder
converted from it): pass rate with its Wilson interval, and wall time per job.

    PYTHONPATH=. python bench/eval_engines.py [MAX_NEW_TOKENS [ENGINE ...]]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from studio.db.store import Store
from studio.evaluation.auto import eval_config, run_job
from studio.evaluation.evalsets import create_eval_set
from studio.evaluation.summary import run_outcome
from studio.paths import DataPaths
from studio.registry.models import add_base_model, add_gguf
from tests.real_model import smollm2_gguf, smollm2_hf
from tests.rule_task import PREFIX, SUFFIX, split

GRADER = f"all:starts-with:{PREFIX};;ends-with:{SUFFIX}"


def main() -> None:
    max_new = int(sys.argv[1]) if len(sys.argv) > 1 else 48
    root = Path(tempfile.mkdtemp(prefix="eval-engines-"))
    paths = DataPaths.at(root / "data")
    store = Store.open(paths.db)
    _, test = split()
    items = root / "rule.jsonl"
    items.write_text("".join(json.dumps({"question": q}) + "\n" for q, _ in test))
    create_eval_set(store, "rule", GRADER, from_file=items)
    base = add_base_model(store, smollm2_hf(), name="SmolLM2-135M-Instruct")
    add_gguf(store, smollm2_gguf(), base.id, "Q4_1")
    for engine in sys.argv[2:] or ("llama.cpp", "transformers"):
        config = eval_config(store, "rule", base.id, engine, max_new)
        start = time.monotonic()
        run_id = run_job(store, paths.root / "jobs", config, lambda event: None)
        wall = time.monotonic() - start
        out = run_outcome(store, run_id)
        passed = round(out["pass_rate"] * out["n"])
        print(f"{engine:<12} {passed}/{out['n']} passed [{out['ci_low']:.2f},"
              f" {out['ci_high']:.2f}]  job wall {wall:.1f} s ({wall / out['n']:.2f} s/prompt"
              f" incl. load), max_new_tokens={max_new}")
        print("   first answer:", repr(out["results"][0]["response"][:120]))
    store.close()


if __name__ == "__main__":
    main()
