"""Make an eval set in a few clicks: a name, its prompts (the Data page's selection or filter,
or a JSONL/CSV file with question/answer fields) and the grader that says what "correct" is.

The set is made by ``studio.evaluation.evalsets.create_eval_set`` on the store worker; its
prompts are left out of every training snapshot from then on."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from studio.app.evaluate import SPEC_HELP, EvalSet, create_eval_set
from studio.db.store import Store
from ui.context import AppContext, Changes
from ui.dialogs.generate_dialog import PromptScope

FILE_SOURCE = "A file (JSONL or CSV: question, optional answer)"


class EvalSetDialog(QDialog):
    def __init__(self, context: AppContext, scopes: list[PromptScope],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.scopes = scopes
        self.setWindowTitle("New eval set")
        self.setMinimumWidth(560)
        form = QFormLayout()
        self.name = QLineEdit(placeholderText="e.g. rule-check")
        form.addRow("Name", self.name)
        form.addRow("Prompts", self._sources())
        self.grader = QComboBox(editable=True)
        for spec, meaning in SPEC_HELP.items():
            self.grader.addItem(spec)
            self.grader.setItemData(self.grader.count() - 1, meaning)
        self.grader.setToolTip("What 'correct' means: a grader spec. Replace the upper-case"
                               " part (PATTERN, FILE, MODEL_ID...) with yours.")
        self.grader.currentIndexChanged.connect(self._explain)
        self.meaning = QLabel(objectName="Muted", wordWrap=True)
        form.addRow("Grader", self.grader)
        form.addRow("", self.meaning)
        self.message = QLabel(objectName="Muted", wordWrap=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.create_button = QPushButton("Create")
        self.create_button.setProperty("primary", True)
        self.create_button.clicked.connect(self.create)
        buttons.addButton(self.create_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        column = QVBoxLayout(self)
        column.addLayout(form)
        column.addWidget(self.message)
        column.addWidget(buttons)
        self._explain()

    def _sources(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.source_group = QButtonGroup(self)
        for index, caption in enumerate([s.caption for s in self.scopes] + [FILE_SOURCE]):
            button = QRadioButton(caption)
            self.source_group.addButton(button, index)
            column.addWidget(button)
        self.source_group.button(0).setChecked(True)
        row = QHBoxLayout()
        self.file = QLineEdit(placeholderText="a .jsonl or .csv file")
        self.file.textChanged.connect(lambda _: self.source_group.button(
            len(self.scopes)).setChecked(True))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.file, 1)
        row.addWidget(browse)
        column.addLayout(row)
        return box

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Eval set file", "",
                                              "JSON lines or CSV (*.jsonl *.csv)")
        if path:
            self.file.setText(path)

    def _explain(self) -> None:
        self.meaning.setText(str(self.grader.currentData() or ""))

    def create(self) -> None:
        name, spec = self.name.text().strip(), self.grader.currentText().strip()
        index = self.source_group.checkedId()
        scope = self.scopes[index] if index < len(self.scopes) else None
        path = Path(self.file.text().strip()) if scope is None else None

        def make(store: Store) -> EvalSet:
            if scope is not None:
                return create_eval_set(store, name, spec, prompt_ids=scope.ids(store))
            return create_eval_set(store, name, spec, from_file=path)

        self.create_button.setEnabled(False)
        self.context.ops.run(make, on_success=self._made, on_failure=self._refused, owner=self,
                             changes=Changes(prompts=True, models=True))

    def _made(self, made: EvalSet) -> None:
        self.create_button.setEnabled(True)
        self.message.setText(f"Eval set “{made.name}”: {made.size} prompts, graded by"
                             f" {made.grader}. Its prompts are left out of training snapshots"
                             " from now on; evaluate a model on it from the Models page.")

    def _refused(self, error: BaseException) -> None:
        self.create_button.setEnabled(True)
        self.message.setText(f"Not created: {error}")
