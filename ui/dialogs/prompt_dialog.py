"""Write or edit a prompt by hand, and add a human-written response."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from studio.db.store import Store
from ui.context import AppContext, Changes


class PromptDialog(QDialog):
    """A new prompt (``prompt_id`` None) or the text and tags of an existing one."""

    def __init__(self, context: AppContext, prompt_id: int | None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.context, self.prompt_id = context, prompt_id
        self.setWindowTitle("New prompt" if prompt_id is None else f"Edit prompt #{prompt_id}")
        self.resize(620, 420)
        form = QFormLayout(self)
        self.text = QPlainTextEdit()
        self.system = QLineEdit(placeholderText="optional")
        self.tags = QLineEdit(placeholderText="comma-separated, e.g. coding, hard")
        form.addRow("Prompt", self.text)
        if prompt_id is None:
            form.addRow("System", self.system)
        form.addRow("Tags", self.tags)
        self.error = QLabel(objectName="ErrorText")
        form.addRow(self.error)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        if prompt_id is not None:
            self.text.setEnabled(False)
            context.ops.run(lambda store: store.prompt(prompt_id), on_success=self._fill,
                            owner=self)

    def _fill(self, prompt: object) -> None:
        self.text.setPlainText(prompt.text)  # type: ignore[attr-defined]
        self.tags.setText(", ".join(prompt.tags))  # type: ignore[attr-defined]
        multi_turn = len(prompt.messages) > 1  # type: ignore[attr-defined]
        self.text.setEnabled(not multi_turn)
        if multi_turn:
            self.error.setText("Multi-turn prompt: only the tags can be edited here.")

    def save(self) -> None:
        text = self.text.toPlainText().strip()
        tags = [t.strip() for t in self.tags.text().split(",") if t.strip()]
        if not text:
            self.error.setText("The prompt cannot be empty.")
            return
        prompt_id, system = self.prompt_id, self.system.text().strip() or None

        def write(store: Store) -> int:
            if prompt_id is None:
                return store.add_prompt(text, system=system, tags=tags, source="manual")
            return store.update_prompt(prompt_id, tags=tags, text=text).id

        self.context.ops.run(write, on_success=self._saved,
                             on_failure=lambda e: self.error.setText(str(e)), owner=self,
                             changes=lambda saved_id: Changes(
                                 prompts=True, prompt_ids=frozenset({saved_id})))

    def _saved(self, _prompt_id: int) -> None:
        self.accept()


class ResponseDialog(QDialog):
    """A human-written response to a prompt (stored with origin 'human')."""

    def __init__(self, context: AppContext, prompt_id: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.context, self.prompt_id = context, prompt_id
        self.setWindowTitle(f"Add a response to prompt #{prompt_id}")
        self.resize(620, 420)
        form = QFormLayout(self)
        self.text = QPlainTextEdit()
        form.addRow("Response", self.text)
        form.addRow(QLabel("Markdown is fine. To store it as a gold answer (SFT data), use"
                           " the Label page's Edit mode.", objectName="Muted"))
        self.error = QLabel(objectName="ErrorText")
        form.addRow(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def save(self) -> None:
        text, prompt_id = self.text.toPlainText(), self.prompt_id
        if not text.strip():
            self.error.setText("The response cannot be empty.")
            return
        self.context.ops.run(lambda store: store.add_response(prompt_id, text, source="manual"),
                             on_success=self._saved,
                             on_failure=lambda e: self.error.setText(str(e)), owner=self,
                             changes=Changes(responses=True, prompt_ids=frozenset({prompt_id})))

    def _saved(self, _response_id: int) -> None:
        self.accept()
