"""Evaluate a registered model on an eval set: pick both, run it as a job (with the parent
first when a before/after needs it), follow "evaluating 12/40", cancel, and read the report.

The jobs come from ``studio.evaluation.auto`` and run through one :class:`JobRunner`; the
dialog only presents."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.app.evaluate import EvalConfig, EvalSet, eval_config, list_eval_sets, plan
from studio.app.models import ModelEntry, list_models
from studio.db.store import Store
from ui.context import AppContext
from ui.runners.job_runner import JobStrip
from ui.widgets.eval_jobs import EvalChain
from ui.widgets.eval_report import EvalReportWidget

NO_SETS = ("No eval set yet: make one with Eval set… on the Data page (from the selected or"
           " filtered prompts, or a file), or with 'tuning-studio evalset create'.")


class EvalDialog(QDialog):
    def __init__(self, context: AppContext, model_id: str | None = None,
                 set_name: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.preset = (model_id, set_name)
        self.names: dict[str, str] = {}
        self.setWindowTitle("Evaluate a model")
        self.setMinimumWidth(720)
        self.chain = EvalChain(context, self)
        self.chain.done.connect(self._done)
        self.chain.stopped.connect(self._ended)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.set_box = QComboBox()
        self.set_box.setToolTip("The prompts, references and grader that define 'correct'.")
        self.model_box = QComboBox()
        self.model_box.setToolTip("Answers through llama.cpp where a GGUF of the model exists,"
                                  " else transformers; greedy, fixed seed.")
        self.parent_check = QCheckBox("Evaluate its parent too when it has no score on this set"
                                      " (before/after)")
        self.parent_check.setChecked(True)
        form.addRow("Eval set", self.set_box)
        form.addRow("Model", self.model_box)
        form.addRow("", self.parent_check)
        layout.addLayout(form)
        self.message = QLabel(objectName="Muted")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.strip = JobStrip(self.chain.runner)
        # After the strip's own handler, so "evaluating <model> 12/40" is what shows.
        self.chain.step.connect(self._step)
        layout.addWidget(self.strip)
        self.report = EvalReportWidget(context)
        layout.addWidget(self.report, 1)
        layout.addWidget(self._buttons())
        self.set_box.currentIndexChanged.connect(self._show_latest)
        self.model_box.currentIndexChanged.connect(self._show_latest)
        context.ops.run(lambda store: (list_eval_sets(store), list_models(store)),
                        on_success=self._show_choices, owner=self,
                        on_failure=lambda error: self.message.setText(str(error)))

    def _buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox()
        self.start_button = QPushButton("Evaluate")
        self.start_button.setProperty("primary", True)
        self.start_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        return buttons

    def _show_choices(self, found: tuple[list[EvalSet], list[ModelEntry]]) -> None:
        sets, entries = found
        model_id, set_name = self.preset
        for eval_set in sets:
            self.set_box.addItem(f"{eval_set.name} ({eval_set.size} prompts, {eval_set.grader})",
                                 eval_set.name)
        for entry in entries:
            self.names[entry.id] = entry.name
            self.model_box.addItem(f"{entry.name} ({entry.kind})", entry.id)
        if set_name:
            self.set_box.setCurrentIndex(max(0, self.set_box.findData(set_name)))
        if model_id:
            self.model_box.setCurrentIndex(max(0, self.model_box.findData(model_id)))
        if not sets:
            self.message.setText(NO_SETS)
        self.start_button.setEnabled(bool(sets and entries))
        self._show_latest()

    def _show_latest(self) -> None:
        set_name, model_id = self.set_box.currentData(), self.model_box.currentData()
        if set_name and model_id:
            self.report.load(set_name, model_id)

    def start(self) -> None:
        set_name, model_id = self.set_box.currentData(), self.model_box.currentData()
        if self.chain.running or not set_name or not model_id:
            return
        with_parent = self.parent_check.isChecked()

        def prepare(store: Store) -> list[EvalConfig]:
            if with_parent:
                return plan(store, set_name, model_id)
            return [eval_config(store, set_name, model_id)]

        self.start_button.setEnabled(False)
        self.message.setText("")
        self.strip.started("Starting the eval…")
        self.chain.start(prepare)

    def _step(self, model_id: str, done: int, total: int) -> None:
        eta = self.strip.status.text().partition(" · ")[2]
        name = self.names.get(model_id, model_id)
        self.strip.say(" · ".join(p for p in (f"evaluating {name} {done}/{total}", eta) if p))

    def _done(self) -> None:
        self.strip.bar.setRange(0, 1)
        self.strip.bar.setValue(1)
        self._ended("Done.")

    def _ended(self, message: str) -> None:
        self.strip.say("")
        self.message.setText(message)
        self.start_button.setEnabled(True)
        self._show_latest()

    def reject(self) -> None:
        """Closing stops the eval after the prompt in progress; finished prompts are kept."""
        if self.chain.running:
            self.chain.cancel()
            self.chain.runner.wait(60_000)
        super().reject()
