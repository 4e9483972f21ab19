"""GRPO's pre-flight probe: before a run, the base model answers a few of its prompts the way
GRPO will sample them, and the graders score those answers.

GRPO learns only from prompts whose sampled answers score differently: if the base never
passes, or passes or fails every answer to a prompt alike, the update is zero and the run
burns hours for nothing. The probe is a short job (``python -m backends.train_grpo_probe``),
whose ``finished`` event carries ``pass_rate``, ``n`` and ``groups_with_variance``;
:func:`probe_checks` turns that into the pre-flight's words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.events import Event
from studio.jobs.config import load_config, save_config
from studio.jobs.launch import write_job
from studio.training.budget import AUTO_CPU_MINUTES, EVAL_SHARE
from studio.training.checks import Check
from studio.training.config import TrainConfig

PROBE_MODULE = "train_grpo_probe"


@dataclass
class GrpoProbeConfig:
    """What the probe samples. Field help doubles as tooltips."""

    model: str = field(metadata={"help": "Base model folder (absolute path) or cached hub id."})
    snapshot_dir: str = field(metadata={"help": "The GRPO prompt snapshot (absolute path)."})
    graders: list[str] = field(default_factory=list,
                               metadata={"help": "Grader specs, as in the run."})
    reward_weights: list[float] | None = field(default=None, metadata={
        "help": "Weights of the graders (empty: all 1)."})
    init_adapter: str | None = field(default=None, metadata={
        "help": "Adapter the run continues, applied on the base (absolute path)."})
    prompts: int = field(default=6, metadata={"help": "Prompts sampled (the first N)."})
    generations: int = field(default=4, metadata={"help": "Answers sampled per prompt."})
    max_completion_length: int = field(default=64, metadata={
        "help": "Longest sampled answer in tokens."})
    temperature: float = field(default=1.0, metadata={"help": "Sampling temperature."})
    seed: int = field(default=0, metadata={"help": "Sampling seed."})
    time_limit_s: float = field(default=0.0, metadata={
        "help": "Stop sampling after this many seconds, once two prompts are done (0: no"
        " limit); a probe is sized to its budget, a tenth of the run's."})

    @classmethod
    def for_run(cls, config: TrainConfig, prompts: int = 6) -> GrpoProbeConfig:
        return cls(model=config.model, snapshot_dir=str(Path(config.snapshot_dir).resolve()),
                   graders=list(config.graders), reward_weights=config.reward_weights,
                   init_adapter=config.init_adapter, prompts=prompts,
                   generations=config.num_generations,
                   max_completion_length=config.max_completion_length,
                   temperature=config.temperature, seed=config.seed,
                   time_limit_s=probe_seconds(config))

    def save(self, folder: Path) -> Path:
        return save_config(self, folder)

    @classmethod
    def load(cls, folder: Path) -> GrpoProbeConfig:
        return load_config(cls, folder)


def probe_seconds(config: TrainConfig) -> float:
    """The probe's share of the run's time: on a CPU, 6 prompts x 8 answers once took 16 min
    before a run; now a tenth of the budget (an hour by default: 6 min). 0: no limit."""
    minutes = config.time_budget_minutes
    if minutes is None:
        minutes = AUTO_CPU_MINUTES  # on a GPU the probe ends long before this
    return EVAL_SHARE * minutes * 60


def create_probe_job(jobs_root: Path, config: TrainConfig, prompts: int = 6) -> Path:
    return write_job(GrpoProbeConfig.for_run(config, prompts), jobs_root, "grpo-probe")


def not_probed(why: str) -> list[Check]:
    """A probe that ended without a result (it failed, or could not start)."""
    return [Check("warning", "signal", f"the base model could not be probed: {why}")]


def probe_checks(result: Event | None) -> list[Check]:
    """The probe's outcome in the pre-flight's words (warnings: the person decides)."""
    if result is None or result.event != "finished":
        return not_probed(str(result.get("message")) if result is not None
                          else "it stopped without a result")
    rate, n = float(result.get("pass_rate") or 0.0), int(result.get("n") or 0)
    varied, groups = int(result.get("groups_with_variance") or 0), int(result.get("groups") or 0)
    checks = [Check("info", "signal", f"the base model passes {rate:.0%} of {n} sampled"
                    f" answers; {varied} of {groups} prompts got answers that scored"
                    " differently")]
    if rate == 0:
        checks.append(Check("warning", "signal", "no signal for RL to learn from: the base"
                            " model never passes these graders. Train SFT on a few good"
                            " answers first, or pick an easier grader."))
    elif varied == 0:
        checks.append(Check("warning", "signal", "the reward is constant within every group:"
                            " all answers to a prompt score the same, so GRPO has nothing to"
                            " compare. Raise the temperature or num_generations, or use a"
                            " grader with partial credit."))
    return checks
