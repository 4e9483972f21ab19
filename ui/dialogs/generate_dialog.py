"""Generate candidates: N answers per prompt from a registered model, to label by hand.

The dialog collects a :class:`studio.candidates.generation.GenerationConfig` (tooltips are its
fields' help, :func:`studio.jobs.config.field_help`), prepares the job with the generate use
case (:func:`studio.app.generate.prepare_generation`, the CLI's too) and runs
``backends.generate`` as a child process with a progress bar, ETA and Cancel. Candidates are
committed one by one by the backend; when it ends the dialog announces the new responses so
the pages refresh.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from studio.app.generate import (
    MAX_CANDIDATES,
    GenerationConfig,
    GenerationPlan,
    Speed,
    estimate_text,
    measured_speed,
    prepare_generation,
)
from studio.app.models import chat_targets
from studio.db.store import Store
from studio.events import Event
from studio.jobs.config import field_help
from ui.context import AppContext, Changes
from ui.runners.job_runner import OUTCOMES, JobRunner, JobStrip

# label, model GGUF, LoRA GGUF (studio.registry.models.chat_targets)
Target = tuple[str, str, str | None]
NO_TARGETS = ("No chat-ready model yet: export a model to GGUF on the <b>Models</b> page"
              " (Export to GGUF…), then come back.")


@dataclass(frozen=True)
class PromptScope:
    """A set of prompts the person can pick: its caption and how to list its ids."""

    caption: str
    ids: Callable[[Store], list[int]]


def scope_picker(scopes: list[PromptScope], parent: QWidget) -> tuple[QWidget, QButtonGroup]:
    """Radio buttons, one per scope, captioned with how many prompts each holds."""
    box = QWidget(parent)
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    group = QButtonGroup(box)
    for index, scope in enumerate(scopes):
        button = QRadioButton(scope.caption)
        button.setProperty("scope", scope.caption)
        group.addButton(button, index)
        column.addWidget(button)
    if scopes:
        group.button(0).setChecked(True)
    return box, group


class GenerateDialog(QDialog):
    began = Signal(object)  # what ``on_start`` returned, once generation was asked for

    def __init__(self, context: AppContext, scopes: list[PromptScope],
                 model: str | None = None, note: str = "",
                 parent: QWidget | None = None, *,
                 on_start: Callable[[Store], Any] | None = None,
                 model_required: bool = False) -> None:
        """``on_start(store)`` runs on the store worker when the person clicks Generate
        (a round is created then, not when the dialog opens). With ``model_required``, only
        ``model`` is preselected: when it is not chat-ready, nothing is, and the dialog says
        so, rather than silently offering another model."""
        super().__init__(parent)
        self.context = context
        self.scopes = scopes
        self.preset_model = model
        self.on_start = on_start
        self.model_required = model_required
        self.prompt_ids: list[int] = []
        self.counts: list[int] = []  # prompts per scope
        self.speed: Speed | None = None  # measured by past generate jobs
        self.generated_model: str | None = None  # set once candidates were stored
        self.stop_box: QMessageBox | None = None  # "Stop generating?" while it is asked
        self.closing = False  # stopping the job, to close once it has ended
        self.setWindowTitle("Generate candidates")
        self.setMinimumWidth(560)
        # Candidates written before a cancel or a failure are stored too.
        self.runner = JobRunner("generate", self, context=context, changes=self._changes,
                                announce_on=OUTCOMES)
        self.runner.finished.connect(self._finished)
        self.runner.cancelled.connect(self._cancelled)
        self.runner.failed.connect(self._failed)
        self.runner.ended.connect(self._update_buttons)
        layout = QVBoxLayout(self)
        if note:
            intro = QLabel(note, objectName="Muted")
            intro.setWordWrap(True)
            layout.addWidget(intro)
        form = QFormLayout()
        self.scope_box, self.scope_group = scope_picker(scopes, self)
        form.addRow("Prompts", self.scope_box)
        self.model_box = QComboBox()
        self.model_box.setToolTip(field_help(GenerationConfig, "model_path"))
        self.model_box.setMinimumWidth(320)
        form.addRow("Model", self.model_box)
        self._add_fields(form)
        layout.addLayout(form)
        self.estimate = QLabel(objectName="Muted")
        self.estimate.setWordWrap(True)
        layout.addWidget(self.estimate)
        self.message = QLabel(objectName="Muted")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.strip = JobStrip(self.runner)
        layout.addWidget(self.strip)
        buttons = QDialogButtonBox()
        self.start_button = QPushButton("Generate")
        self.start_button.setProperty("primary", True)
        self.start_button.clicked.connect(self.start)
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.start_button.setEnabled(False)
        self._count_scopes()
        context.ops.run(chat_targets, on_success=self._show_targets,
                        on_failure=lambda e: self._say(str(e)), owner=self)
        self.n.valueChanged.connect(self._show_estimate)
        self.scope_group.idToggled.connect(self._show_estimate)
        self.model_box.currentIndexChanged.connect(self._measure)
        self.model_box.currentIndexChanged.connect(self._update_buttons)
        self._measure()

    # ---- the time it will take -----------------------------------------------------------
    def _measure(self) -> None:
        jobs, model = self.context.paths.root / "jobs", self.model_box.currentText() or None
        self.context.ops.run(lambda _store: measured_speed(jobs, model),
                             on_success=self._measured, owner=self)

    def _measured(self, speed: Speed | None) -> None:
        self.speed = speed
        self._show_estimate()

    def _show_estimate(self, *_args: object) -> None:
        """Before starting: how many candidates, and how long at the speed measured here.
        An upper bound: candidates already stored with the same settings are not redone."""
        checked = self.scope_group.checkedId()
        prompts = self.counts[checked] if 0 <= checked < len(self.counts) else 0
        self.estimate.setText(estimate_text(prompts * self.n.value(), self.speed))

    # ---- form --------------------------------------------------------------------------
    def _add_fields(self, form: QFormLayout) -> None:
        defaults = GenerationConfig("", "")
        self.n = _spin(1, MAX_CANDIDATES, defaults.n)
        self.temperature_min = _double(0.0, 2.0, defaults.temperature_min, 0.05)
        self.temperature_max = _double(0.0, 2.0, defaults.temperature_max, 0.05)
        self.top_p = _double(0.05, 1.0, defaults.top_p, 0.05)
        self.seed = _spin(0, 2**31 - 1, defaults.seed)
        self.max_tokens = _spin(8, 8192, defaults.max_tokens)
        for name, caption in (("n", "Candidates per prompt"),
                              ("temperature_min", "Temperature, first"),
                              ("temperature_max", "Temperature, last"), ("top_p", "Top-p"),
                              ("seed", "Seed"), ("max_tokens", "Max tokens")):
            widget = getattr(self, name)
            widget.setToolTip(field_help(GenerationConfig, name))
            label = QLabel(caption)
            label.setToolTip(widget.toolTip())
            form.addRow(label, widget)

    def _count_scopes(self) -> None:
        scopes = self.scopes

        def count(store: Store) -> list[int]:
            return [len(scope.ids(store)) for scope in scopes]

        self.context.ops.run(count, on_success=self._show_counts, owner=self)

    def _show_counts(self, counts: list[int]) -> None:
        self.counts = counts
        for index, total in enumerate(counts):
            button = self.scope_group.button(index)
            button.setText(f"{self.scopes[index].caption} ({total:,})")
            button.setEnabled(total > 0)
        enabled = [i for i, total in enumerate(counts) if total > 0]
        checked = self.scope_group.checkedId()
        if enabled and (checked < 0 or counts[checked] == 0):
            self.scope_group.button(enabled[0]).setChecked(True)
        if not enabled:
            self._say("There are no prompts to generate for: import or add some on"
                                 " the Data page.")
        self._show_estimate()

    def _show_targets(self, targets: list[Target]) -> None:
        self.model_box.clear()
        for target in targets:
            self.model_box.addItem(target[0], target)
        index = self.model_box.findText(self.preset_model) if self.preset_model else -1
        if index >= 0:
            self.model_box.setCurrentIndex(index)
        elif self.model_required and targets:
            self.model_box.setCurrentIndex(-1)  # pick one knowingly: not the preset model
            self.model_box.setPlaceholderText("Choose a model…")
            self._say("The model this round starts from has no GGUF yet, so it cannot write"
                      " candidates: export it on the <b>Models</b> page (Export to GGUF…)"
                      " first, or choose another model here knowingly.")
        if not targets:
            self._say(NO_TARGETS)
        self._update_buttons()

    def config(self, prompt_ids: list[int]) -> GenerationConfig:
        label, path, lora = self.model_box.currentData()
        return GenerationConfig(
            model_path=path, model_name=label, lora_path=lora, prompt_ids=prompt_ids,
            n=self.n.value(), temperature_min=self.temperature_min.value(),
            temperature_max=self.temperature_max.value(), top_p=self.top_p.value(),
            seed=self.seed.value(), max_tokens=self.max_tokens.value(),
        )

    # ---- running -----------------------------------------------------------------------
    def start(self) -> None:
        if self.runner.running or self.model_box.currentData() is None:
            return
        scope = self.scopes[max(self.scope_group.checkedId(), 0)]
        make_config, paths, on_start = self.config, self.context.paths, self.on_start
        self.start_button.setEnabled(False)
        self._say("")

        def prepare(store: Store) -> tuple[GenerationPlan, Any]:
            plan = prepare_generation(store, paths, make_config(scope.ids(store)))
            begun = on_start(store) if on_start is not None else None  # last: nothing failed
            return plan, begun

        self.context.ops.run(prepare, on_success=self._launch, on_failure=self._not_started,
                             owner=self)

    def _launch(self, prepared: tuple[GenerationPlan, Any]) -> None:
        plan, begun = prepared
        job, missing, self.prompt_ids = plan.job, plan.missing, plan.prompt_ids
        if begun is not None:
            self.on_start = None  # once: a second Generate must not start a second round
            self.began.emit(begun)
        if job is None:
            self._say("Nothing to do: every candidate with these settings is"
                                 " already stored. Change the seed or N for new ones.")
            self._update_buttons()
            return
        self.runner.start(job)
        self.strip.started(f"Starting: {missing:,} candidates to write…")
        self._update_buttons()

    def _not_started(self, error: BaseException) -> None:
        self._say(f"Not started: {error}")
        self._update_buttons()

    def _finished(self, event: Event) -> None:
        empty = int(event.get("empty") or 0)
        note = f" ({empty} empty answers skipped)" if empty else ""
        self.strip.say(f"Done: {event.get('stored')} candidates stored in"
                       f" {event.get('wall_s')} s{note}.")
        self.strip.bar.setRange(0, 1)
        self.strip.bar.setValue(1)
        self.generated_model = self.model_box.currentText()
        self._say(
            f"Label them on the <b>Label</b> page: pick <b>{self.model_box.currentText()}</b>"
            " in its Model filter, then Thumbs (1) or Pairwise (2).")

    def _cancelled(self, event: Event | None) -> None:
        kept = "the finished" if event is None else event.get("stored", event.get("done"))
        self.strip.say(f"Cancelled: {kept} candidate(s) kept.")
        self._say("Generate again with the same settings to write only the missing"
                             " ones.")

    def _failed(self, message: str) -> None:
        self.strip.say("Failed.")
        self._say(message)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.adjustSize()  # a wrapped message needs the room

    def _changes(self) -> Changes:
        return Changes(responses=True, prompt_ids=frozenset(self.prompt_ids))

    def _update_buttons(self) -> None:
        running = self.runner.running
        self.start_button.setEnabled(not running and self.model_box.currentIndex() >= 0)

    def reject(self) -> None:
        """Close (or Escape) while a job runs asks first; stopping never blocks the GUI: the
        dialog closes itself once the job has stopped (finished candidates are kept)."""
        if not self.runner.running:
            super().reject()
            return
        if self.stop_box is not None or self.closing:
            return  # already asking, or already stopping
        self.stop_box = QMessageBox(
            QMessageBox.Icon.Question, "Stop generating?",
            "Candidates are still being written. Stop after the one in progress and close?"
            " The candidates written so far are kept; generating again with the same"
            " settings writes only the missing ones.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        self.stop_box.button(QMessageBox.StandardButton.Yes).setText("Stop and close")
        self.stop_box.button(QMessageBox.StandardButton.No).setText("Keep generating")
        self.stop_box.finished.connect(self._stop_answered)
        self.stop_box.open()

    def _stop_answered(self, result: int) -> None:
        self.stop_box = None
        if result != QMessageBox.StandardButton.Yes:
            return
        if not self.runner.running:  # it ended while the question was open
            super().reject()
            return
        self.closing = True
        self.close_button.setEnabled(False)
        self.strip.say("Stopping after the candidate in progress…")
        self.runner.ended.connect(self._close_after_stop)
        self.runner.cancel()

    def _close_after_stop(self) -> None:
        self.runner.ended.disconnect(self._close_after_stop)
        self.closing = False
        self.close_button.setEnabled(True)
        super().reject()


def _spin(low: int, high: int, value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    return box


def _double(low: float, high: float, value: float, step: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(2)
    box.setValue(value)
    return box
