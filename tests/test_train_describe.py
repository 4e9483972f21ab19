"""The run log and run list never present reward accuracy alone as success: it says what the
number measures and that behaviour is measured by an eval set."""

from __future__ import annotations

from studio.events import Event
from studio.training.describe import describe, metrics_summary, reward_caveat


def test_a_dpo_step_says_what_reward_accuracy_measures() -> None:
    line = describe(Event("step", 0.0, fields={"step": 3, "max_steps": 9, "loss": 0.69,
                                               "rewards/accuracies": 1.0}))
    assert "rewards/accuracies=1" in line
    assert "not behaviour" in line
    assert "eval set" in line


def test_a_finished_dpo_run_points_to_an_eval_set() -> None:
    line = describe(Event("finished", 0.0, fields={
        "adapter": "/runs/x/adapter", "wall_s": 12.0,
        "metrics": {"train_loss": 0.4, "eval_rewards/accuracies": 1.0}}))
    assert "chosen answer above the rejected one" in line
    assert "tuning-studio eval --set" in line


def test_the_backend_note_is_not_repeated() -> None:
    note = "reward accuracy 1.00 on eval pairs ...: check behaviour with an eval set"
    line = describe(Event("finished", 0.0, fields={
        "adapter": "a", "wall_s": 1, "note": note,
        "metrics": {"eval_rewards/accuracies": 1.0}}))
    assert line.count("note:") == 1


def test_sft_runs_carry_no_reward_caveat() -> None:
    metrics = {"train_loss": 0.5, "eval_loss": 0.7}
    assert reward_caveat(metrics) is None
    assert metrics_summary(metrics) == "train_loss=0.5 eval_loss=0.7"
    line = describe(Event("finished", 0.0, fields={"adapter": "a", "wall_s": 1,
                                                   "metrics": metrics}))
    assert "note" not in line


def test_the_run_list_qualifies_reward_accuracy() -> None:
    summary = metrics_summary({"train_loss": 0.2, "eval_rewards/accuracies": 1.0})
    assert summary.startswith("train_loss=0.2 eval_rewards/accuracies=1")
    assert "behaviour: run an eval set" in summary
