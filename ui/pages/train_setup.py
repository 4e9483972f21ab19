"""The Train page's left column: readiness, method, base model, preset, the generated form,
GRPO's "Probe the base model", and the launch button with the preflight checks under it.

The panel only gathers a :class:`TrainConfig` and shows what the page hands it (readiness,
the model list, check results); the page runs the launch itself, and the probe widget its job.
The checks area shows the launch's checks, then the last probe's for as long as the settings
it measured (model, graders, prompts, sampling) stay as they were.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from studio.app.add_model import hf_cache_dirs
from studio.app.overview import ReadinessReport
from studio.app.train_checks import FILE_NAME as SETTINGS_FILE
from studio.app.train_checks import Check, recall
from studio.errors import StudioError
from studio.training.config import METHOD_HELP, METHODS, PRESET_HELP, PRESETS, TrainConfig
from ui.context import AppContext
from ui.pages.train_form import ConfigFormWidget, align_labels
from ui.theme import THEMES, current_theme, signals
from ui.widgets.eval_after import EvalAfterTrainingWidget
from ui.widgets.grpo_probe import GrpoProbeWidget
from ui.widgets.grpo_setup import GrpoSetupWidget
from ui.widgets.model_download import ModelDownloadWidget
from ui.widgets.readiness import ReadinessWidget
from ui.widgets.train_scope import TrainScopeWidget

CHECK_COLOURS = {
    "light": {"error": "#b91c1c", "warning": "#a16207", "info": "#4b5563"},
    # The light theme's dark grey and amber are hard to read on the dark theme's panels.
    "dark": {"error": THEMES["dark"]["bad"], "warning": THEMES["dark"]["warn"],
             "info": THEMES["dark"]["muted"]},
}
CHECK_WORDS = {"error": "Problem", "warning": "Warning", "info": "Note"}
METHOD_LABELS = {"grpo": "Reinforce with a grader (GRPO)"}
# What GRPO's probe measures: a change to any of these makes its pass rate stale.
PROBED = ("method", "model", "graders", "reward_weights", "prompts", "init_adapter",
          "num_generations", "max_completion_length", "temperature", "seed")


def probed_settings(config: TrainConfig) -> tuple[object, ...]:
    return tuple(getattr(config, name) for name in PROBED)


def cached_hub_models() -> list[tuple[str, str]]:
    found = []
    for cache in hf_cache_dirs():
        for folder in sorted(cache.glob("models--*")):
            if any(folder.glob("snapshots/*/config.json")):
                found.append((folder.name[len("models--"):].replace("--", "/") + " (HF cache)",
                              folder.name[len("models--"):].replace("--", "/")))
    return found


class TrainSetupPanel(QScrollArea):
    """Everything a launch is made of; ``launch_requested`` when the button is pressed."""

    launch_requested = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent, widgetResizable=True)
        self.context = context
        panel = QWidget()
        column = QVBoxLayout(panel)
        column.addWidget(QLabel("Train", objectName="PageTitle"))
        self.readiness = ReadinessWidget()
        column.addWidget(self.readiness)
        column.addLayout(self._choices())
        self.form = ConfigFormWidget()
        column.addWidget(self.form)
        self.after_eval = EvalAfterTrainingWidget(context)  # "evaluate on <set> after training"
        column.addWidget(self.after_eval)
        self.probe = GrpoProbeWidget(context)  # GRPO only: the base model's pass rate
        self.probe.requested.connect(self._start_probe)
        self.probe.outcome.connect(self.show_probe)
        # A probe may outlive a switch to another method; then it hides once it ends.
        self.probe.runner.ended.connect(lambda: self.probe.setVisible(self.method_name == "grpo"))
        column.addWidget(self.probe)
        self.launch_button = QPushButton("Check and launch")
        self.launch_button.setProperty("primary", True)  # the stylesheet's primary button
        self.launch_button.clicked.connect(self.launch_requested)
        column.addWidget(self.launch_button)
        self.checks_label = QLabel(wordWrap=True, objectName="checks")
        self.checks_label.setTextFormat(Qt.TextFormat.RichText)
        column.addWidget(self.checks_label)
        self._launch_checks: list[Check] = []
        self._probe_checks: list[Check] = []
        self._probed: tuple[object, ...] | None = None  # the settings of the last probe
        for edited in (self.grpo.edited, self.form.edited, self.model.currentTextChanged):
            # After the event: refilling a combo passes through texts nobody chose.
            edited.connect(lambda *_: QTimer.singleShot(0, self, self._forget_stale_probe))
        signals.changed.connect(self._show_all)  # the checks' colours follow the theme
        column.addStretch()
        self.setWidget(panel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(460)
        self.reset_form()

    def _choices(self) -> QFormLayout:
        form = QFormLayout()
        self.method = QComboBox(objectName="method")
        for method in METHODS:
            self.method.addItem(METHOD_LABELS.get(method, method.upper()), method)
        self.method.currentIndexChanged.connect(self.reset_form)
        self.method_help = QLabel(objectName="Muted", wordWrap=True)
        self.model = QComboBox(objectName="model", editable=True)
        self.model.setToolTip(TrainConfig.__dataclass_fields__["model"].metadata["help"])
        self.model.lineEdit().setPlaceholderText("a model folder or a hub id (owner/name)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_model)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(browse)
        self.preset = QComboBox(objectName="preset")
        for name in PRESETS:
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1, PRESET_HELP[name],
                                    Qt.ItemDataRole.ToolTipRole)
        self.preset.setCurrentText("balanced")
        self.preset.currentIndexChanged.connect(self.reset_form)
        form.addRow("Method", self.method)
        form.addRow("", self.method_help)
        self.grpo = GrpoSetupWidget()
        form.addRow("", self.grpo)
        form.addRow("Base model", model_row)
        self.download = ModelDownloadWidget(self.context)
        self.model.currentTextChanged.connect(self.download.follow)
        self.download.downloaded.connect(self.model.setCurrentText)
        form.addRow("", self.download)
        form.addRow("Preset", self.preset)
        self.scope = TrainScopeWidget(self.context)  # which labels, how many, and why
        form.addRow("Train on", self.scope)
        align_labels(form)
        return form

    @property
    def method_name(self) -> str:
        return str(self.method.currentData())

    def reset_form(self) -> None:
        self.method_help.setText(METHOD_HELP[self.method_name])
        self.scope.set_method(self.method_name)
        self.grpo.setVisible(self.method_name == "grpo")
        self.probe.setVisible(self.method_name == "grpo" or self.probe.busy)
        preset = str(self.preset.currentData())
        # The last settings launched with this method and preset (a small file: a few ms).
        last = recall(self.context.paths.root / SETTINGS_FILE, self.method_name, preset)
        shown = last or TrainConfig.for_method(self.method_name, "", preset)
        self.form.set_config(shown)
        if last is not None and last.method == "grpo":
            self.grpo.set_values(last.graders, last.reward_weights, last.prompts)
        if last is not None and last.method != "grpo":
            self.scope.set_selector(last.train_from)
        if last is not None and not self.model.currentText():
            self.model.setCurrentText(last.model)
        self._forget_stale_probe()  # another method or preset: other settings

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder")
        if folder:
            self.model.setCurrentText(folder)

    def config(self) -> TrainConfig:
        values = self.form.values()
        if self.method_name == "grpo":
            values.update(self.grpo.values())
        config = TrainConfig(method=self.method_name, model=self.model.currentText().strip(),
                             preset=str(self.preset.currentData()),
                             train_from=self.scope.selector(), **values)
        config.check("settings")
        return config

    def show_checks(self, checks: list[Check]) -> None:
        """The launch's checks (the last probe's stay under them)."""
        self._launch_checks = list(checks)
        self._show_all()

    def show_probe(self, checks: list[Check]) -> None:
        """The probe's outcome, under the launch's checks."""
        self._probe_checks = list(checks)
        self._show_all()

    def _start_probe(self) -> None:
        try:
            config = self.config()
        except StudioError as error:
            self._probed = None  # shown until the settings read again
            self.show_probe([Check("error", "config", str(error))])
            return
        self._probed = probed_settings(config)
        self.show_probe([])
        self.probe.start(config)

    def _forget_stale_probe(self) -> None:
        """A setting the probe measured changed: its result no longer describes this run."""
        if not self._probe_checks:
            return
        try:
            current = probed_settings(self.config())
        except StudioError:
            current = None
        if current != self._probed:
            self.show_probe([])

    def _show_all(self) -> None:
        colours = CHECK_COLOURS[current_theme()]
        self.checks_label.setText("<br>".join(
            f"<span style='color:{colours[c.level]}'><b>{CHECK_WORDS[c.level]}:</b>"
            f" {html.escape(c.message, quote=False)}</span>"
            for c in self._launch_checks + self._probe_checks))

    def show_readiness(self, report: ReadinessReport) -> None:
        self.readiness.show_report(report)
        recommended = report.readiness.recommended
        if recommended and not self.model.currentText():
            self.method.setCurrentIndex(METHODS.index(recommended))

    def show_models(self, models: list[tuple[str, str]]) -> None:
        """The base model choices as (label, path); what the person typed stays."""
        typed = self.model.currentText()
        self.model.clear()
        for label, path in models:
            self.model.addItem(label, path)
            self.model.setItemData(self.model.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        self.model.setCurrentText(typed or (models[0][1] if models else ""))
