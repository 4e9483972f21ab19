"""The Train form shows only the fields the chosen method reads: GRPO's sampling settings
stay out of a KTO form, and KTO's weights out of an SFT form."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from studio.training.config import TrainConfig
from ui.pages.train_form import ConfigFormWidget


@pytest.mark.parametrize(("method", "shown", "hidden"), [
    ("sft", {"num_epochs", "learning_rate"}, {"beta", "num_generations", "temperature",
                                               "desirable_weight", "simpo_gamma"}),
    ("kto", {"beta", "desirable_weight"}, {"num_generations", "temperature", "simpo_gamma"}),
    ("simpo", {"beta", "simpo_gamma"}, {"desirable_weight", "num_generations"}),
    ("grpo", {"num_generations", "max_completion_length", "temperature", "kl_beta"},
     {"beta", "desirable_weight", "simpo_gamma", "max_length"}),
])
def test_the_form_shows_what_the_method_reads(qtbot: QtBot, method: str, shown: set[str],
                                              hidden: set[str]) -> None:
    form = ConfigFormWidget()
    qtbot.addWidget(form)
    form.set_config(TrainConfig.for_method(method, "some-model"))
    visible = set(form.shown_fields())
    assert shown <= visible
    assert not hidden & visible
    # Hidden fields still hold their defaults, so the launched config is complete.
    assert set(form.values()) == set(form.editors)
