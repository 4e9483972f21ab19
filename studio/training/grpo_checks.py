"""GRPO's settings as the Train form and ``tuning-studio train`` show them, and their checks.

Kept apart from :mod:`studio.training.config` so the method's help texts and rules sit in one
place; this module imports only the graders and the store type (the config module imports
it).
"""

from __future__ import annotations

from studio.db.store import Store
from studio.errors import StudioError
from studio.evaluation.graders.spec import GraderSpecError, check_spec, needs_registry

# TRL 1.16's GRPOConfig.loss_type values that need no extra settings.
GRPO_LOSSES = ("dapo", "grpo", "dr_grpo", "bnpo")

GRPO_HELP = {
    "graders": "GRPO: grader specs that score each sampled answer (regex:..., numeric,"
               " contains:A|B, python:FILE); each one is a reward.",
    "reward_weights": "GRPO: weight of each grader in the reward, in the order of the graders"
                      " (empty: all 1).",
    "prompts": "GRPO: which stored prompts to practise on: a tag, a source, all, or"
               " evalset:NAME (prompts with the tags, else the sources, of that eval set's;"
               " eval-set prompts are always left out).",
    "num_generations": "GRPO: answers sampled per prompt; the update compares them with each"
                       " other, so at least 2 (4-8 is usual).",
    "max_completion_length": "GRPO: longest sampled answer in tokens; short answers make steps"
                             " much faster.",
    "temperature": "GRPO: sampling temperature; too low and the answers to a prompt are all"
                   " alike, so the grader gives nothing to compare.",
    "kl_beta": "GRPO: pull towards the base model (KL penalty); 0 skips the reference pass"
               " (TRL's default), 0.001-0.04 keeps the model closer to where it started.",
    "loss_type": "GRPO: how token losses are averaged: dapo (TRL's default, no length bias),"
                 " grpo (the paper's, favours short right answers), dr_grpo, bnpo.",
    "use_vllm": "GRPO: sample with vLLM in the training process (TRL's colocate mode); empty:"
                " on when vLLM is installed on a CUDA machine, else transformers generation.",
    "completions_every": "GRPO: every N steps write a few sampled answers and their scores"
                         " to the run log (0: never).",
}


class RewardSpecError(StudioError):
    """Graders and weights of a GRPO run that cannot be used together."""


def grpo_problems(graders: list[str], weights: list[float] | None, generations: int,
                  completion_length: int, temperature: float, kl_beta: float,
                  completions_every: int) -> list[tuple[str, str]]:
    """(field, message) for each GRPO setting that cannot work."""
    out: list[tuple[str, str]] = []
    if not graders:
        out.append(("graders", "GRPO needs at least one grader (e.g. --grader numeric)"))
    for spec in graders:
        try:
            check_spec(spec)
        except (GraderSpecError, StudioError) as error:
            out.append(("graders", str(error)))
    if weights is not None and len(weights) != len(graders):
        out.append(("reward_weights", f"{len(weights)} weight(s) for {len(graders)} grader(s);"
                    " give one per grader"))
    if weights is not None and any(w < 0 for w in weights):
        out.append(("reward_weights", "weights must be 0 or more"))
    if generations < 2:
        out.append(("num_generations", "GRPO compares answers to the same prompt: at least 2"))
    if completion_length < 1:
        out.append(("max_completion_length", "must be at least 1"))
    if temperature <= 0:
        out.append(("temperature", "must be above 0 (GRPO samples)"))
    if kl_beta < 0:
        out.append(("kl_beta", "must be 0 or more"))
    if completions_every < 0:
        out.append(("completions_every", "must be 0 or more"))
    return out


def registry_problems(store: Store, graders: list[str]) -> list[tuple[str, str]]:
    """(field, message) for graders that need the model registry and fail there: a judge
    whose model is unknown or has no GGUF. Checked at launch, where the store is open."""
    out: list[tuple[str, str]] = []
    for spec in graders:
        if needs_registry(spec):
            try:
                check_spec(spec, store)
            except (GraderSpecError, StudioError) as error:
                out.append(("graders", str(error)))
    return out
