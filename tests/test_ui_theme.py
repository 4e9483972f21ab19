"""Issue 11 item 12: an in-app light/dark/system choice that plots follow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from test_ui_support import context

from studio.training.checks import Check
from ui import theme
from ui.context import AppContext
from ui.dialogs.settings_dialog import SettingsDialog, theme_choice
from ui.pages.train_setup import CHECK_COLOURS, TrainSetupPanel
from ui.widgets.plots import MetricsPlotWidget

__all__ = ["context"]


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    yield qapp
    theme.use_theme(qapp, "light")  # the other tests draw in the light theme


def test_dark_choice_is_kept_and_plots_follow(app: QApplication, context: AppContext,
                                              qtbot: QtBot) -> None:
    theme.use_theme(app, "light")
    plots = MetricsPlotWidget()
    qtbot.addWidget(plots)
    assert plots.view.backgroundBrush().color().name() == theme.THEMES["light"]["panel"]
    dialog = SettingsDialog(context)
    qtbot.addWidget(dialog)
    dialog.theme.setCurrentIndex(list(theme.CHOICES).index("dark"))
    dialog.accept()
    assert app.property("studio_theme") == "dark"
    assert theme_choice(context.settings) == "dark"
    assert plots.view.backgroundBrush().color().name() == theme.THEMES["dark"]["panel"]
    assert "QCheckBox::indicator" in app.styleSheet()  # unchecked boxes drawn in dark too


def test_preflight_checks_follow_the_theme(app: QApplication, context: AppContext,
                                           qtbot: QtBot) -> None:
    theme.use_theme(app, "light")
    panel = TrainSetupPanel(context)
    qtbot.addWidget(panel)
    panel.show_probe([Check("info", "signal", "the base model passes 0% of 12")])
    assert CHECK_COLOURS["light"]["info"] in panel.checks_label.text()
    theme.use_theme(app, "dark")  # the grey of the light theme is unreadable on dark panels
    assert theme.THEMES["dark"]["muted"] in panel.checks_label.text()
    assert "passes 0% of 12" in panel.checks_label.text()
