"""The generate use case shared by the Generate dialog and ``tuning-studio generate``: only
what is missing is planned, a limit counts prompts, and the job folder holds that plan."""

from __future__ import annotations

from pathlib import Path

from studio.app.generate import all_prompt_ids, prepare_generation
from studio.candidates.generation import GenerationConfig, store_candidate
from studio.db.store import Store
from studio.paths import DataPaths


def test_plans_only_the_missing_candidates(store: Store, data_paths: DataPaths,
                                           demo_gguf: Path) -> None:
    ids = [store.add_prompt(f"Question {i}?") for i in range(3)]
    assert all_prompt_ids(store) == ids

    def config() -> GenerationConfig:
        return GenerationConfig(model_path=str(demo_gguf), model_name="demo",
                                prompt_ids=all_prompt_ids(store), n=2)

    done = config()
    for index in range(2):
        store_candidate(store, done, ids[0], index, f"answer {index}")
    store_candidate(store, done, ids[1], 0, "one of two")
    plan = prepare_generation(store, data_paths, config(), limit=1)
    assert (plan.missing, plan.prompt_ids) == (1, [ids[1]])  # the first is complete
    assert plan.job is not None
    assert GenerationConfig.load(plan.job).prompt_ids == [ids[1]]
    assert GenerationConfig.load(plan.job).db == str(data_paths.db.resolve())
    everything = prepare_generation(store, data_paths, config())
    assert (everything.missing, everything.prompt_ids) == (3, ids[1:])
    for prompt_id in ids[1:]:
        for index in range(2):
            store_candidate(store, done, prompt_id, index, f"{prompt_id}:{index}")
    assert prepare_generation(store, data_paths, config()).job is None
