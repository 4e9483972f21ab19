"""The chain of rounds on the Models page: each round's start, data, run and numbers, so
progress (or regress) is visible at a glance, with "Start round 1" and "Next round".

A round is linked to its training run when one finishes: the first completed run after the
round began that starts from the round's parent model (the base, or the previous adapter as
``init_adapter``). The numbers come from the run (held-out reward accuracy), the Compare
page's blind votes (win-rate vs the parent) and whatever was recorded on the round (judge).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QSignalBlocker
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from studio.app.models import ModelEntry
from studio.app.rounds import (
    COLUMNS,
    SAMPLE_PROMPTS,
    Round,
    RoundPlan,
    RoundRow,
    plan_round,
    round_rows,
    sample_prompts,
)
from studio.db.store import Store
from ui.context import AppContext, Changes
from ui.item_models.round_table import RoundTableModel
from ui.widgets.eval_chart import EvalScoreChart


class RoundsView(QWidget):
    """The rounds table plus its two actions; the Models page hosts it."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.selected_model: ModelEntry | None = None  # set by the Models page
        self.dialog: QWidget | None = None  # the generate dialog of the round to start
        self.table = RoundTableModel(self)
        self.tree = QTreeView()  # a flat list with a header, as the model tree above it
        self.tree.setModel(self.table)
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.selectionModel().currentChanged.connect(lambda *_: self._update_buttons())
        header = QHBoxLayout()
        header.addWidget(QLabel("Rounds", objectName="CardTitle"))
        self.hint = QLabel(objectName="Muted")
        header.addWidget(self.hint, 1)
        self.start_button = QPushButton("Start round 1")
        self.start_button.setToolTip("Begin the generate → label → train → compare loop from"
                                     " the model selected above.")
        self.next_button = QPushButton("Next round…")
        self.next_button.setToolTip("Start the next round from the selected round's trained"
                                    " model and generate candidates with it.")
        self.start_button.clicked.connect(self.start_first)
        self.next_button.clicked.connect(self.start_next)
        header.addWidget(self.start_button)
        header.addWidget(self.next_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(header)
        column.addWidget(self.tree, 1)
        self.chart = EvalScoreChart(context)  # hidden until an eval set exists
        column.addWidget(self.chart)
        context.changed.connect(self._on_changed)
        self.refresh()

    def refresh(self) -> None:
        self.context.ops.run(round_rows, on_success=self._show, owner=self,
                             on_failure=lambda error: self.hint.setText(str(error)))

    def _on_changed(self, changes: Changes) -> None:
        if changes.models or changes.runs or changes.labels:
            self.refresh()

    def _show(self, rows: list[RoundRow]) -> None:
        current = self.selected_round()
        with QSignalBlocker(self.tree.selectionModel()):
            self.table.set_rows(rows)
            if current is not None:
                self.select_round(current.id)
        for index in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(index)
        self.hint.setText("" if rows else "No rounds yet: select a base model above and start"
                          " round 1.")
        self._update_buttons()

    def selected_round(self) -> Round | None:
        index = self.tree.currentIndex()
        return self.table.rows[index.row()].round if index.isValid() else None

    def select_round(self, round_id: int) -> None:
        row = self.table.row_of(round_id)
        if row >= 0:
            self.tree.selectionModel().setCurrentIndex(
                self.table.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)

    def set_selected_model(self, entry: ModelEntry | None) -> None:
        self.selected_model = entry
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected_round()
        self.next_button.setEnabled(chosen is not None and chosen.model_id is not None)
        model = self.selected_model
        self.start_button.setEnabled(model is not None and model.kind in ("base", "adapter"))

    # ---- actions -----------------------------------------------------------------------
    # The round is created when the person clicks Generate in the dialog, after seeing what
    # it costs (candidates and time) and choosing the prompts: never by the first click.
    def start_first(self) -> None:
        if self.selected_model is not None:
            model_id = self.selected_model.id
            self._plan(lambda store: plan_round(store, model_id=model_id))

    def start_next(self) -> None:
        chosen = self.selected_round()
        if chosen is not None and chosen.model_id is not None:
            previous_id = chosen.id
            self._plan(lambda store: plan_round(store, previous_id=previous_id))

    def _plan(self, fn: Any) -> None:
        self.context.ops.run(fn, on_success=self.open_generate, owner=self,
                             on_failure=lambda error: self.hint.setText(f"Not started: {error}"))

    def _begun(self, started: Round) -> None:
        self.refresh()
        self.context.status_message.emit(f"Round {started.number} started.")

    def open_generate(self, plan: RoundPlan) -> Any:
        from studio.app.label import QueueFilter, filter_prompt_ids
        from ui.dialogs.generate_dialog import GenerateDialog, PromptScope

        def everything(store: Store) -> list[int]:
            return filter_prompt_ids(store, QueueFilter())

        scopes = [PromptScope(f"A sample of up to {SAMPLE_PROMPTS} prompts",
                              lambda store: sample_prompts(everything(store))),
                  PromptScope("All prompts", everything)]
        if plan.prompt_ids:
            ids = plan.prompt_ids
            scopes.insert(0, PromptScope("Prompts of the previous round's snapshot",
                                         lambda _: ids))
        note = plan.note
        if not plan.targets:
            note += (f" <br><b>First export {plan.parent.name} to GGUF</b> (Export to GGUF…"
                     " above): generation needs a chat-ready copy.")
        note += (f"<br>Round {plan.number} is created when you click <b>Generate</b>;"
                 " Close creates nothing.")
        dialog = GenerateDialog(self.context, scopes,
                                model=plan.targets[0] if plan.targets else None, note=note,
                                parent=self, on_start=plan.begin, model_required=True)
        dialog.began.connect(self._begun)
        dialog.open()
        self.dialog = dialog
        return dialog
