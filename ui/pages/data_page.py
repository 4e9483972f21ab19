"""The Data page: browse prompts and responses, import, export, edit by hand, readiness."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from studio.app.data import BrowseQuery, annotators, count_prompts, prompt_page, sources_and_tags
from studio.app.judge import accept_judge_labels
from studio.app.label import detail_with_suggestions, judge_suggestions
from studio.app.overview import readiness_report
from studio.db.store import Store
from ui.context import AppContext, Changes
from ui.dialogs.eval_set_dialog import EvalSetDialog
from ui.dialogs.generate_dialog import PromptScope
from ui.item_models.prompt_table import PromptTableModel
from ui.widgets.flow_layout import FlowLayout, flow_policy
from ui.widgets.markdown_view import MarkdownView
from ui.widgets.prompt_detail import detail_markdown
from ui.widgets.prompt_table_view import PromptTableView
from ui.widgets.readiness import ReadinessWidget

ANY = "Any"


class DataPage(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.model = PromptTableModel(context.ops, self)
        self.selected_id: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 10)
        layout.addWidget(self._header())
        layout.addWidget(self._filters())
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self._table())
        split.addWidget(self._side())
        # The table takes the extra width: its Prompt column is what a person reads here.
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([960, 300])
        layout.addWidget(split, 1)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.apply_filters)
        self._readiness_timer = QTimer(self, singleShot=True, interval=400)
        self._readiness_timer.timeout.connect(self.refresh_readiness)
        context.changed.connect(self._on_changed)
        self.model.reload()
        self._load_filter_values()
        self.refresh_readiness()

    # ---- layout ------------------------------------------------------------------------
    def _header(self) -> QWidget:
        # A flow, not a row: eight buttons beside the title set a 944 px minimum width, and
        # the window could not be made 1024 px wide; they wrap onto a second line instead.
        header = flow_policy(QWidget())
        row = FlowLayout(header)
        row.addWidget(QLabel("Data", objectName="PageTitle"))
        self.count_label = QLabel(objectName="Muted")
        row.addWidget(self.count_label)
        for caption, slot, primary in (
            ("Import…", self.open_import, True), ("Starter prompts", self.add_starter, False),
            ("New prompt…", self.new_prompt, False), ("Agreement…", self.open_agreement, False),
            ("Export…", self.open_export, False), ("Generate…", self.open_generate, False),
            ("Judge…", self.open_judge, False), ("Eval set…", self.open_eval_set, False),
        ):
            button = QPushButton(caption)
            button.setProperty("primary", primary)
            button.clicked.connect(slot)
            row.addWidget(button)
        return header

    def _filters(self) -> QWidget:
        filters = flow_policy(QWidget())
        row = FlowLayout(filters)
        self.search = QLineEdit(placeholderText="Search prompts…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(240)  # room for the placeholder: "S…" said nothing
        self.search.textChanged.connect(lambda _: self._search_timer.start())
        row.addWidget(self.search)
        self.boxes: dict[str, QComboBox] = {}
        for key, caption, values in (
            ("source", "Source", []), ("tag", "Tag", []),
            ("labeled", "Labeled", ["labeled", "unlabeled"]),
            ("kind", "Label kind", ["thumb", "pair", "gold"]), ("annotator", "Annotator", []),
        ):
            box = QComboBox()
            box.addItems([ANY, *values])
            box.setMinimumWidth(110)
            box.currentTextChanged.connect(self.apply_filters)
            pair = QWidget()
            line = QHBoxLayout(pair)
            line.setContentsMargins(0, 0, 0, 0)
            line.addWidget(QLabel(caption, objectName="Muted"))
            line.addWidget(box)
            row.addWidget(pair)
            self.boxes[key] = box
        return filters

    def _table(self) -> QTableView:
        self.table = PromptTableView(self.model)
        self.table.selectionModel().currentRowChanged.connect(self._row_selected)
        self.table.doubleClicked.connect(lambda _: self.edit_prompt())
        return self.table

    def _side(self) -> QWidget:
        side = QWidget()
        column = QVBoxLayout(side)
        column.setContentsMargins(8, 0, 0, 0)
        self.readiness = ReadinessWidget()
        column.addWidget(self.readiness)
        # Two rows of two: in one row they kept the side panel so wide that the table's
        # Prompt column shrank to a few letters.
        buttons = QGridLayout()
        self.detail_buttons = []
        for index, (caption, slot) in enumerate((
                ("Edit prompt…", self.edit_prompt), ("Add response…", self.add_response),
                ("Accept judge labels", self.accept_judge), ("Delete", self.delete_prompt))):
            button = QPushButton(caption)
            button.setEnabled(False)
            button.clicked.connect(slot)
            buttons.addWidget(button, index // 2, index % 2)
            self.detail_buttons.append(button)
        column.addLayout(buttons)
        self.detail = MarkdownView()
        self.detail.setObjectName("Card")
        self.detail.set_markdown("*Select a prompt to see its responses and labels.*")
        column.addWidget(self.detail, 1)
        return side

    # ---- filters -----------------------------------------------------------------------
    def current_query(self) -> BrowseQuery:
        values = {key: (box.currentText() if box.currentText() != ANY else None)
                  for key, box in self.boxes.items()}
        sort_column = self.table.horizontalHeader().sortIndicatorSection()
        from ui.item_models.prompt_table import COLUMNS

        return BrowseQuery(
            search=self.search.text(), source=values["source"], tag=values["tag"],
            labeled=values["labeled"] or "any", kind=values["kind"],
            annotator=values["annotator"], sort=COLUMNS[max(sort_column, 0)][0],
            descending=self.table.horizontalHeader().sortIndicatorOrder()
            == Qt.SortOrder.DescendingOrder,
        )

    def apply_filters(self) -> None:
        self.model.set_query(self.current_query())

    def _load_filter_values(self) -> None:
        def load(store: object) -> tuple[list[str], list[str], list[str]]:
            sources, tags = sources_and_tags(store)  # type: ignore[arg-type]
            return sources, tags, annotators(store)  # type: ignore[arg-type]

        self.context.ops.read(load, on_success=self._fill_filter_values, owner=self)

    def _fill_filter_values(self, found: tuple[list[str], list[str], list[str]]) -> None:
        for key, values in zip(("source", "tag", "annotator"), found, strict=True):
            box = self.boxes[key]
            current = box.currentText()
            box.blockSignals(True)
            box.clear()
            box.addItems([ANY, *values])
            box.setCurrentText(current if current in values else ANY)
            box.blockSignals(False)

    # ---- changes -----------------------------------------------------------------------
    def _on_changed(self, changes: Changes) -> None:
        if not changes.data:
            return
        self.model.reload()
        if changes.prompts or changes.labels:
            self._load_filter_values()
        self._readiness_timer.start()
        if self.selected_id is not None and (not changes.prompt_ids
                                             or self.selected_id in changes.prompt_ids):
            self._load_detail(self.selected_id)

    def refresh_readiness(self) -> None:
        self.context.ops.read(readiness_report, on_success=self.readiness.show_report, owner=self)

    # ---- detail ------------------------------------------------------------------------
    def _row_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self.model.row_at(current.row()) if current.isValid() else None
        self.selected_id = row.id if row is not None else None
        for button in self.detail_buttons:
            button.setEnabled(self.selected_id is not None)
        if self.selected_id is not None:
            self._load_detail(self.selected_id)

    def _load_detail(self, prompt_id: int) -> None:
        def shown(detail: tuple) -> None:
            if self.selected_id == prompt_id:
                self.detail.set_markdown(detail_markdown(*detail))

        self.context.ops.read(lambda store: detail_with_suggestions(store, prompt_id),
                             on_success=shown, on_failure=lambda _: self._clear_detail(),
                             owner=self)

    def _clear_detail(self) -> None:
        self.selected_id = None
        self.detail.set_markdown("*Select a prompt to see its responses and labels.*")

    # ---- candidates and judge -----------------------------------------------------------
    def open_eval_set(self) -> None:
        EvalSetDialog(self.context, self.prompt_scopes(), self).open()

    def selected_ids(self) -> list[int]:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        found = (self.model.row_at(row) for row in sorted(rows))
        return [row.id for row in found if row is not None]

    def prompt_scopes(self) -> list[PromptScope]:
        """What Generate and Judge may work on: the selected rows, or the filtered prompts."""
        selected, query = self.selected_ids(), self.current_query()

        def matching(store: Store) -> list[int]:
            total = count_prompts(store, query)
            return [row.id for row in prompt_page(store, query, 0, total)]

        scopes = [PromptScope("Prompts matching the filters", matching)]
        if len(selected) > 1:  # one selected row is just the detail pane's prompt
            scopes.insert(0, PromptScope("Selected prompts", lambda _: selected))
        return scopes

    def accept_judge(self) -> None:
        """Let the judge labels on the selected prompts count as training data."""
        ids = self.selected_ids() or ([self.selected_id] if self.selected_id else [])
        if not ids:
            return

        def accept(store: Store) -> int:
            return accept_judge_labels(store, judge_suggestions(store, ids))

        self.context.ops.run(accept, on_success=self._accepted,
                             on_failure=lambda error: self.context.status_message.emit(
                                                           str(error)), owner=self,
                             changes=lambda count: Changes(
                                 labels=True, prompt_ids=frozenset(ids)) if count else None)

    def _accepted(self, count: int) -> None:
        self.context.status_message.emit(f"Accepted {count} judge label(s) as training data."
             if count else "No judge suggestions to accept on the selected prompts.")

    def open_generate(self) -> None:
        from ui.dialogs.generate_dialog import GenerateDialog

        GenerateDialog(self.context, self.prompt_scopes(), parent=self).exec()

    def open_judge(self) -> None:
        from ui.dialogs.judge_dialog import JudgeDialog

        JudgeDialog(self.context, self.prompt_scopes(), parent=self).exec()

    # ---- actions -----------------------------------------------------------------------
    def open_import(self) -> None:
        from ui.dialogs.import_dialog import ImportDialog

        ImportDialog(self.context, self).exec()

    def open_export(self) -> None:
        from ui.dialogs.export_dialog import ExportDialog

        ExportDialog(self.context, self).exec()

    def open_agreement(self) -> None:
        from ui.dialogs.agreement_dialog import AgreementDialog

        AgreementDialog(self.context, self).exec()

    def add_starter(self) -> None:
        from ui.starter import add_starter_prompts

        add_starter_prompts(self.context)

    def new_prompt(self) -> None:
        from ui.dialogs.prompt_dialog import PromptDialog

        PromptDialog(self.context, None, self).exec()

    def edit_prompt(self) -> None:
        from ui.dialogs.prompt_dialog import PromptDialog

        if self.selected_id is not None:
            PromptDialog(self.context, self.selected_id, self).exec()

    def add_response(self) -> None:
        from ui.dialogs.prompt_dialog import ResponseDialog

        if self.selected_id is not None:
            ResponseDialog(self.context, self.selected_id, self).exec()

    def delete_prompt(self) -> None:
        prompt_id = self.selected_id
        if prompt_id is None:
            return
        answer = QMessageBox.question(
            self, "Delete prompt",
            f"Delete prompt #{prompt_id} with its responses and all their labels?"
            " This cannot be undone.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._clear_detail()
        self.context.ops.run(
            lambda store: store.delete_prompt(prompt_id),
            changes=Changes(prompts=True, responses=True, labels=True),
            on_failure=lambda error: self.context.status_message.emit(str(error)), owner=self)

