"""The database schema, as sqlite-utils migrations: each runs once, in one transaction.

Append new migrations at the end; never edit one that has shipped.
"""

from __future__ import annotations

from studio.db.sqlite_db import Database, Migrations

migrations = Migrations("tuning-studio")


@migrations()
def m001_labels(db: Database) -> None:
    db.table("prompts").create(
        {
            "id": int,
            "hash": str,  # sha256 of the canonical (system, messages): re-imports don't duplicate
            "messages": str,  # JSON list of {role, content}, ending with the user turn to answer
            "system": str,
            "text": str,  # the last user turn, for search and display
            "tags": str,  # JSON list of strings
            "source": str,
            "created_at": str,
        },
        pk="id",
        not_null={"hash", "messages", "text", "created_at"},
        defaults={"tags": "[]", "source": "manual"},
    )
    db.table("prompts").create_index(["hash"], unique=True)
    db.table("prompts").create_index(["source"])
    db.table("responses").create(
        {
            "id": int,
            "prompt_id": int,
            "hash": str,  # sha256 of the text: the same text for a prompt is stored once
            "text": str,
            "origin": str,  # imported | model | human
            "model": str,
            "gen_params": str,  # JSON of the sampling settings when a model wrote it
            "source": str,
            "parent_id": int,  # the response a human edit started from
            "created_at": str,
        },
        pk="id",
        not_null={"prompt_id", "hash", "text", "origin", "created_at"},
        foreign_keys=[("prompt_id", "prompts", "id"), ("parent_id", "responses", "id")],
    )
    db.table("responses").create_index(["prompt_id", "hash"], unique=True)
    db.table("labels").create(
        {
            "id": int,
            "kind": str,  # thumb | pair | gold
            "target": str,  # what is judged: thumb:<resp> | pair:<low>:<high> | gold:<resp>
            "prompt_id": int,
            "response_id": int,  # thumb: the judged response; gold: the gold response
            "left_id": int,  # pair: the response shown on the left ...
            "right_id": int,  # ... and on the right (position bias is measurable later)
            "parent_id": int,  # gold: the response it was edited from, if any
            "value": str,  # up|down, left|right|tie|both_bad, gold, or retracted (an undo)
            "reason": str,
            "annotator": str,
            "annotator_kind": str,  # human | import | judge
            "source": str,
            "import_key": str,  # set for imported labels, so a re-import adds nothing
            "accepted": int,  # judge labels count for training only once accepted
            "created_at": str,
        },
        pk="id",
        not_null={"kind", "target", "prompt_id", "value", "annotator", "annotator_kind"},
        foreign_keys=[
            ("prompt_id", "prompts", "id"),
            ("response_id", "responses", "id"),
            ("left_id", "responses", "id"),
            ("right_id", "responses", "id"),
            ("parent_id", "responses", "id"),
        ],
    )
    db.table("labels").create_index(["target", "annotator", "id"])
    db.table("labels").create_index(["prompt_id"])
    db.table("labels").create_index(["import_key"], unique=True)
    db.table("imports").create(
        {
            "id": int,
            "path": str,
            "format": str,
            "file_hash": str,
            "rows": int,
            "prompts_added": int,
            "responses_added": int,
            "labels_added": int,
            "created_at": str,
        },
        pk="id",
    )


@migrations()
def m002_snapshots_runs_models(db: Database) -> None:
    db.table("snapshots").create(
        {
            "id": str,
            "kind": str,  # sft | dpo | kto
            "path": str,
            "content_hash": str,
            "counts": str,  # JSON {"train": n, "eval": n, ...}
            "created_at": str,
        },
        pk="id",
    )
    db.table("models").create(
        {
            "id": str,
            "kind": str,  # base | adapter | merged | gguf
            "name": str,
            "path": str,
            "parent_id": str,
            "run_id": str,
            "quant": str,
            "size_bytes": int,
            "selfcheck": str,  # JSON
            "meta": str,  # JSON
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("parent_id", "models", "id")],
    )
    db.table("runs").create(
        {
            "id": str,
            "method": str,  # sft | dpo | kto
            "status": str,  # queued | running | completed | failed | cancelled
            "config": str,  # JSON
            "snapshot_id": str,
            "base_model": str,
            "parent_model_id": str,
            "run_dir": str,
            "pid": int,
            "metrics": str,  # JSON summary
            "error": str,
            "created_at": str,
            "started_at": str,
            "finished_at": str,
        },
        pk="id",
        foreign_keys=[("snapshot_id", "snapshots", "id"), ("parent_model_id", "models", "id")],
    )
    db.table("models").add_foreign_key("run_id", "runs", "id")


@migrations()
def m003_relabels(db: Database) -> None:
    # The label events made as blind re-labels (the queue's re-label sample). Undo copies a
    # label's fields, so only this table tells a re-label from the undo that followed it.
    # No foreign key: deleting a prompt deletes its labels and must not be blocked here.
    db.table("relabels").create({"label_id": int}, pk="label_id")


@migrations()
def m004_compare_votes(db: Database) -> None:
    # The pair labels voted on the Compare page, with whether the sides were blind. Win-rates
    # count blind votes only; the models are on the responses. Keyed by label id (undo copies
    # a label, so the target finds the vote an undo/redo event belongs to).
    db.table("compare_votes").create(
        {"label_id": int, "target": str, "blind": int, "swapped": int, "created_at": str},
        pk="label_id",
    )
    db.table("compare_votes").create_index(["target"])


@migrations()
def m005_rounds(db: Database) -> None:
    # One iteration of generate → label → train → compare, chained by parent_round_id.
    db.table("rounds").create(
        {
            "id": int,
            "number": int,
            "parent_round_id": int,
            "parent_model_id": str,  # what the round starts from: base or an earlier adapter
            "method": str,
            "snapshot_id": str,
            "run_id": str,
            "model_id": str,  # the adapter (or export) the round produced
            "metrics": str,  # JSON: reward accuracy, win-rates, rule pass rates...
            "notes": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("parent_round_id", "rounds", "id")],
    )


@migrations()
def m006_eval_sets(db: Database) -> None:
    # Fixed prompt sets scored by a grader, and runs of a model over one. Eval prompts are
    # kept out of training snapshots (see studio/evaluation/evalsets.py).
    db.table("eval_sets").create(
        {"id": int, "name": str, "grader": str, "created_at": str},
        pk="id", not_null={"name", "grader", "created_at"},
    )
    db.table("eval_sets").create_index(["name"], unique=True)
    db.table("eval_items").create(
        {"set_id": int, "prompt_id": int, "reference": str},
        pk=("set_id", "prompt_id"),
        foreign_keys=[("set_id", "eval_sets", "id"), ("prompt_id", "prompts", "id")],
    )
    db.table("eval_runs").create(
        {"id": int, "set_id": int, "model_id": str, "created_at": str, "status": str},
        pk="id", foreign_keys=[("set_id", "eval_sets", "id")],
    )
    db.table("eval_runs").create_index(["set_id", "model_id"])
    db.table("eval_results").create(
        {"run_id": int, "prompt_id": int, "response": str, "score": float, "reason": str},
        pk=("run_id", "prompt_id"), foreign_keys=[("run_id", "eval_runs", "id")],
    )


@migrations()
def m007_eval_run_engine_and_liveness(db: Database) -> None:
    # Which engine answered (llama.cpp or transformers), the job folder (pid file and log, so
    # a crashed run is detected and explained), why a run failed, and per result the grader
    # that scored it and whether that grader was machine-made (an LLM judge).
    runs = db.table("eval_runs")
    for column in ("engine", "job_dir", "error", "finished_at"):
        runs.add_column(column, str)
    results = db.table("eval_results")
    results.add_column("grader", str)
    results.add_column("machine_made", int)


@migrations()
def m008_prompt_norm_key(db: Database) -> None:
    # The prompt with case and whitespace evened out (records.normalized_key): an eval prompt
    # typed differently from a training prompt still keeps that prompt out of training. Filled
    # lazily (studio.evaluation.evalsets.fill_norm_keys), so this migration stays instant on
    # a large store and bulk imports need not compute it.
    db.table("prompts").add_column("norm_key", str)
    db.table("prompts").create_index(["norm_key"])


@migrations()
def m009_summaries(db: Database) -> None:
    # Counts and indexes for a million prompts (issue 25): see studio/db/summaries.py.
    from studio.db.summaries import add_summaries

    add_summaries(db)


@migrations()
def m010_drift_scores(db: Database) -> None:
    # How far a tuned model's answers moved from its parent's on prompts it never trained on
    # (studio/evaluation/drift.py): mean per-token KL on the parent's own greedy answers.
    db.table("drift_scores").create(
        {"id": int, "model_id": str, "parent_id": str, "kl": float, "nll_drop": float,
         "n_prompts": int, "n_tokens": int, "per_prompt": str, "created_at": str},
        pk="id", not_null={"model_id", "parent_id", "created_at"},
    )
    db.table("drift_scores").create_index(["model_id"])


@migrations()
def m011_prompt_search(db: Database) -> None:
    # A trigram full-text index of the prompts' turns, so a Data-page search reads the index,
    # not every prompt (issue 25): see studio/db/search.py.
    from studio.db.search import add_search

    add_search(db)


@migrations()
def m012_search_in_store(db: Database) -> None:
    # The store's prompt writes keep the search index, not triggers: see
    # studio.db.search.drop_search_triggers.
    from studio.db.search import drop_search_triggers

    drop_search_triggers(db)


@migrations()
def m013_search_hash_size(db: Database) -> None:
    # A larger in-memory buffer for the search index, so big imports write fewer segments:
    # see studio.db.search.set_hash_size.
    from studio.db.search import set_hash_size

    set_hash_size(db)


@migrations()
def m014_multi_turn_index(db: Database) -> None:
    # The prompts of several turns, so a one- or two-character search reads their turns and
    # only the text of the rest: see studio.db.search.condition.
    from studio.db.search import MULTI_TURN_INDEX

    db.execute(MULTI_TURN_INDEX)
