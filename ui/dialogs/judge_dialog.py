"""Judge pre-labels: a registered GGUF model scores responses (thumbs) or pairs with a rubric.

The dialog builds a :class:`studio.candidates.judge.JudgeConfig` from the chosen prompts, writes
the job folder under ``<data>/jobs`` and runs ``backends.judge`` with progress, ETA and Cancel.
Judge
labels are suggestions: the Label page shows them on each item, exports leave them out until
they are accepted here (or on the Data page), and the judge's agreement with the people on
shared items says how far to trust it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.app.judge import (
    DEFAULT_RUBRIC,
    JudgeConfig,
    accept_judge_labels,
    judge_agreement,
    pairs_for_prompts,
)
from studio.app.label import Agreement, response_models
from studio.app.models import chat_targets
from studio.db.store import Store
from studio.events import Event
from studio.jobs.config import field_help
from studio.jobs.launch import new_job_dir
from ui.context import AppContext, Changes
from ui.dialogs.generate_dialog import NO_TARGETS, PromptScope, scope_picker
from ui.runners.job_runner import OUTCOMES, JobRunner, JobStrip

ANY = "Any model"
KINDS = {"Thumbs: score each response": "thumb", "Pairs: pick the better of two": "pair"}
PAIRINGS = {"Adjacent pairs": "adjacent", "All pairs": "all"}


def judge_items(store: Store, config: JudgeConfig, prompt_ids: list[int], pairing: str,
                model: str | None, skip_judged: bool = True) -> JudgeConfig:
    """The config with its responses or pairs filled in (minus those this judge did)."""
    done = {lab.target for lab in store.current_labels(
        include_unaccepted_judge=True, prompt_ids=prompt_ids)
        if lab.annotator == config.annotator} if skip_judged else set()
    if config.kind == "thumb":
        config.response_ids = [r.id for pid in prompt_ids for r in store.responses_for(pid)
                               if (model is None or r.model == model)
                               and f"thumb:{r.id}" not in done]
    else:
        config.pairs = [pair for pair in pairs_for_prompts(store, prompt_ids, pairing, model)
                        if f"pair:{min(pair)}:{max(pair)}" not in done]
    return config


def open_suggestions(store: Store, annotator: str, prompt_ids: list[int]) -> list[int]:
    """This judge's labels on these prompts that are not accepted yet."""
    labels = store.current_labels(include_unaccepted_judge=True, prompt_ids=prompt_ids)
    return [lab.id for lab in labels if lab.annotator == annotator and not lab.accepted]


def agreement_text(report: list[Agreement], judge: str) -> str:
    if not report:
        return (f"Agreement of {judge} with people: no item labeled by both yet. Label a few"
                " judged items yourself to see how far to trust it.")
    parts = []
    for row in report:
        kappa = "" if row.kappa is None else f", κ {row.kappa:.2f}"
        parts.append(f"{row.kind}: agrees on {row.observed:.0%} of {row.items} shared"
                     f" item(s){kappa}")
    return f"Agreement of {judge} with people: " + "; ".join(parts) + "."


class JudgeDialog(QDialog):
    def __init__(self, context: AppContext, scopes: list[PromptScope], kind: str = "thumb",
                 model: str | None = None, pairing: str = "adjacent",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.scopes = scopes
        self.preset_model = model
        self.prompt_ids: list[int] = []
        self.setWindowTitle("Judge pre-labels")
        self.setMinimumWidth(620)
        # Judged items are stored as they come: a cancel or a failure keeps them.
        self.runner = JobRunner("judge", self, context=context, changes=self._changes,
                                announce_on=OUTCOMES)
        self.runner.finished.connect(self._finished)
        self.runner.cancelled.connect(lambda _: self._ended("Cancelled: the judged items are"
                                                            " kept."))
        self.runner.failed.connect(self._failed)
        self.runner.ended.connect(self._update_buttons)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.scope_box, self.scope_group = scope_picker(scopes, self)
        form.addRow("Prompts", self.scope_box)
        self.judge_box = _combo({}, field_help(JudgeConfig, "model_path"))
        self.judge_box.setMinimumWidth(320)
        self.judge_box.currentIndexChanged.connect(self.refresh_agreement)
        form.addRow("Judge model", self.judge_box)
        self.kind_box = _combo(KINDS, field_help(JudgeConfig, "kind"), kind)
        self.kind_box.currentIndexChanged.connect(self._update_buttons)
        form.addRow("Mode", self.kind_box)
        self.pairing_box = _combo(PAIRINGS, "Adjacent: consecutive responses per prompt (N-1"
                                  " pairs); all: every two of them.", pairing)
        form.addRow("Pairs", self.pairing_box)
        self.model_box = _combo({ANY: None}, "Judge only the responses this model wrote.")
        form.addRow("Responses by", self.model_box)
        self.rubric = QPlainTextEdit(DEFAULT_RUBRIC)
        self.rubric.setToolTip(field_help(JudgeConfig, "rubric"))
        self.rubric.setFixedHeight(96)
        form.addRow("Rubric", self.rubric)
        layout.addLayout(form)
        self.agreement = QLabel(objectName="Muted")
        self.agreement.setWordWrap(True)
        self.message = QLabel(objectName="Muted")
        self.message.setWordWrap(True)
        layout.addWidget(self.agreement)
        layout.addWidget(self.message)
        self.strip = JobStrip(self.runner)
        layout.addWidget(self.strip)
        layout.addWidget(self._buttons())
        self._update_buttons()
        context.ops.run(lambda store: (chat_targets(store), response_models(store)),
                        on_success=self._show_choices, owner=self,
                        on_failure=lambda error: self.message.setText(str(error)))

    def _buttons(self) -> QDialogButtonBox:
        buttons = QDialogButtonBox()
        self.start_button = QPushButton("Judge")
        self.start_button.setProperty("primary", True)
        self.start_button.clicked.connect(self.start)
        self.accept_button = QPushButton("Accept these judge labels")
        self.accept_button.setToolTip("Let this judge's labels on the chosen prompts count as"
                                      " training data (exports leave them out until then).")
        self.accept_button.clicked.connect(self.accept_labels)
        buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.accept_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.clicked.connect(self.reject)
        return buttons

    # ---- choices -----------------------------------------------------------------------
    def _show_choices(self, found: tuple[list[tuple[str, str, str | None]], list[str]]) -> None:
        targets, writers = found
        for target in targets:
            self.judge_box.addItem(target[0], target)
        for name in writers:
            self.model_box.addItem(name, name)
        if self.preset_model:
            self.model_box.setCurrentIndex(max(0, self.model_box.findData(self.preset_model)))
        if not targets:
            self.message.setText(NO_TARGETS)
        self.scope_group.buttonToggled.connect(lambda *_: self.refresh_agreement())
        self._count_scopes()
        self._update_buttons()
        self.refresh_agreement()

    def _count_scopes(self) -> None:
        scopes = self.scopes
        self.context.ops.run(lambda store: [len(s.ids(store)) for s in scopes],
                             on_success=self._show_counts, owner=self)

    def _show_counts(self, counts: list[int]) -> None:
        for index, total in enumerate(counts):
            button = self.scope_group.button(index)
            button.setText(f"{self.scopes[index].caption} ({total:,})")
            button.setEnabled(total > 0)

    @property
    def annotator(self) -> str | None:
        target = self.judge_box.currentData()
        return f"judge:{target[0]}" if target else None

    def refresh_agreement(self) -> None:
        annotator = self.annotator
        if annotator is None:
            self.agreement.setText("")
            return
        self.context.ops.run(lambda store: judge_agreement(store, annotator), owner=self,
                             on_success=lambda report: self.agreement.setText(
                                 agreement_text(report, annotator)))

    def config(self) -> JudgeConfig:
        label, path, lora = self.judge_box.currentData()
        return JudgeConfig(model_path=path, model_name=label, lora_path=lora,
                           kind=str(self.kind_box.currentData()),
                           rubric=self.rubric.toPlainText())

    # ---- running -----------------------------------------------------------------------
    def start(self) -> None:
        if self.runner.running or self.judge_box.currentData() is None:
            return
        scope = self.scopes[max(self.scope_group.checkedId(), 0)]
        config, jobs = self.config(), self.context.paths.root / "jobs"
        db = str(self.context.paths.db.resolve())
        pairing, model = str(self.pairing_box.currentData()), self.model_box.currentData()
        self.start_button.setEnabled(False)
        self.message.setText("")

        def prepare(store: Store) -> tuple[Path | None, int, list[int]]:
            ids = scope.ids(store)
            filled = judge_items(store, config, ids, pairing, model)
            count = len(filled.response_ids if filled.kind == "thumb" else filled.pairs)
            if count == 0:
                return None, 0, ids
            filled.validate()
            filled.db = db
            folder = new_job_dir(jobs, "judge")
            filled.save(folder)
            return folder, count, ids

        self.context.ops.run(prepare, on_success=self._launch, owner=self,
                             on_failure=lambda error: self._ended(f"Not started: {error}"))

    def _launch(self, prepared: tuple[Path | None, int, list[int]]) -> None:
        job, count, self.prompt_ids = prepared
        if job is None:
            self._ended("Nothing to judge: these prompts have no such responses, or this judge"
                        " already labeled them all.")
            return
        self.runner.start(job)
        self.strip.started(f"Starting: {count:,} item(s) to judge…")
        self._update_buttons()

    def _finished(self, event: Event) -> None:
        self.strip.bar.setRange(0, 1)
        self.strip.bar.setValue(1)
        self._ended(f"Done: {event.get('judged')} item(s) judged in {event.get('wall_s')} s."
                    " The Label page shows them as suggestions.")

    def _failed(self, message: str) -> None:
        self._ended(f"Failed: {message}")

    def _ended(self, message: str) -> None:
        self.strip.say("")
        self.message.setText(message)
        self.adjustSize()
        self._update_buttons()
        self.refresh_agreement()

    def _changes(self) -> Changes | None:
        return Changes(labels=True, prompt_ids=frozenset(self.prompt_ids)) \
            if self.prompt_ids else None

    def accept_labels(self) -> None:
        annotator, scope = self.annotator, self.scopes[max(self.scope_group.checkedId(), 0)]
        if annotator is None:
            return

        def accept(store: Store) -> tuple[int, list[int]]:
            ids = scope.ids(store)
            found = open_suggestions(store, annotator, ids)
            return (accept_judge_labels(store, found) if found else 0), ids

        self.context.ops.run(accept, on_success=self._accepted, owner=self,
                             on_failure=lambda error: self.message.setText(str(error)),
                             changes=lambda result: Changes(
                                 labels=True, prompt_ids=frozenset(result[1])) if result[0]
                             else None)

    def _accepted(self, result: tuple[int, list[int]]) -> None:
        count = result[0]
        self.message.setText(f"Accepted {count} judge label(s): they now count as training"
                             " data." if count else "No open suggestions of this judge here.")

    def _update_buttons(self) -> None:
        running, ready = self.runner.running, self.judge_box.count() > 0
        self.start_button.setEnabled(ready and not running)
        self.accept_button.setEnabled(ready and not running)
        self.pairing_box.setEnabled(self.kind_box.currentData() == "pair")

    def reject(self) -> None:
        """Closing stops the job after the item in progress; judged items are kept."""
        if self.runner.running:
            self.runner.cancel()
            self.runner.wait(60_000)
        super().reject()


def _combo(choices: dict[str, object], tip: str, current: object = None) -> QComboBox:
    box = QComboBox()
    box.setToolTip(tip)
    for caption, value in choices.items():
        box.addItem(caption, value)
    if current is not None:
        box.setCurrentIndex(max(0, box.findData(current)))
    return box
