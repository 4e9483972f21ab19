"""Import a dataset: pick a file, folder or hub id, see the detected format, a preview of
the first rows and every problem with its row, then import in the background (cancellable;
a cancelled or failed import leaves the database unchanged)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.app.import_data import (
    SHAPES,
    Example,
    ImportRate,
    ImportReport,
    ParsedFile,
    import_parsed,
    parse_path,
)
from studio.db.store import Store
from studio.errors import ImportCancelledError, StudioError
from ui.context import AppContext, Changes
from ui.ops import Task

PREVIEW_ROWS = 50


class ImportDialog(QDialog):
    parsed = Signal(object)  # ParsedFile or an error message (tests wait on it)
    finished_import = Signal(object)  # ImportReport, or the error
    progressed = Signal(int, int)  # rows written, rows in all (tests wait on it)

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.task: Task | None = None
        self.current: ParsedFile | None = None
        self.rate = ImportRate()
        self.setWindowTitle("Import a dataset")
        self.resize(900, 600)
        layout = QVBoxLayout(self)
        layout.addLayout(self._source_row())
        self.summary = QLabel("Pick a file, a datasets folder, or type a hub id"
                              " (owner/name) and press Enter.", objectName="Muted")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.preview = QTableWidget(0, 4)
        self.preview.setHorizontalHeaderLabels(["Row", "Prompt", "Response", "Label"])
        self.preview.verticalHeader().hide()
        header = self.preview.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        layout.addWidget(self.preview, 3)
        self.problems = QListWidget()
        self.problems.setObjectName("ErrorText")
        self.problems.hide()
        layout.addWidget(self.problems, 1)
        layout.addLayout(self._bottom_row())

    def _source_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.path_edit = QLineEdit(placeholderText="File, folder or hub id (owner/name)")
        self.path_edit.returnPressed.connect(self.preview_source)
        row.addWidget(self.path_edit, 1)
        for caption, folder in (("File…", False), ("Folder…", True)):
            button = QPushButton(caption)
            button.setAutoDefault(False)  # Enter belongs to Import, not to File…
            button.clicked.connect(lambda _=False, f=folder: self.browse(f))
            row.addWidget(button)
        self.format_box = QComboBox()
        self.format_box.addItem("Detect format", "auto")
        for name, _, description in SHAPES:
            self.format_box.addItem(description, name)
        self.format_box.currentIndexChanged.connect(lambda _: self.preview_source())
        row.addWidget(self.format_box)
        return row

    def _bottom_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.bar = QProgressBar()
        self.bar.hide()
        row.addWidget(self.bar, 1)
        row.addStretch()
        self.cancel_button = QPushButton("Close")
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.cancel_or_close)
        self.import_button = QPushButton("Import")
        self.import_button.setProperty("primary", True)
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.start_import)
        row.addWidget(self.cancel_button)
        row.addWidget(self.import_button)
        return row

    # ---- preview -----------------------------------------------------------------------
    def browse(self, folder: bool) -> None:
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Datasets folder")
        else:
            path, _ = QFileDialog.getOpenFileName(
                self, "Dataset file", "", "Datasets (*.jsonl *.ndjson *.json *.csv *.parquet"
                " *.txt);;All files (*)")
        if path:
            self.path_edit.setText(path)
            self.preview_source()

    def preview_source(self) -> None:
        spec, shape = self.path_edit.text().strip(), self.format_box.currentData()
        if not spec:
            return
        self.import_button.setEnabled(False)
        self.summary.setText(f"Reading {spec}…")
        # On the I/O pool: reading a big file never holds the store worker's labels back.
        self.context.io.run(lambda: parse_path(spec, shape), on_success=self._show,
                            on_failure=self._show_error, owner=self)

    def _show(self, parsed: ParsedFile) -> None:
        self.current = parsed
        self._fill_preview(parsed.examples[:PREVIEW_ROWS])
        description = dict((n, d) for n, _, d in SHAPES).get(parsed.shape or "", "unknown")
        text = (f"<b>{parsed.path.name}</b> · {parsed.kind} · format: <b>{description}</b> ·"
                f" {parsed.rows:,} rows")
        if parsed.example_count > len(parsed.examples):
            text += f" (the first {len(parsed.examples):,} shown)"
        self._fill_problems([str(p) for p in parsed.problems], parsed.problem_count)
        if parsed.problem_count:
            text += (f" · <span style='color:#c2412d'>{parsed.problem_count:,} problem(s):"
                     " nothing will be imported until they are fixed</span>")
        self.summary.setText(text)
        self.import_button.setEnabled(parsed.ok)
        self.parsed.emit(parsed)

    def _show_error(self, error: BaseException) -> None:
        self.current = None
        self.preview.setRowCount(0)
        problems = getattr(error, "problems", None)
        self._fill_problems([str(p) for p in problems] if problems else [str(error)],
                            getattr(error, "total", 1))
        self.summary.setText(str(error))
        self.parsed.emit(str(error))

    def _fill_preview(self, examples: list[tuple[str, Example]]) -> None:
        self.preview.setRowCount(len(examples))
        for row, (location, example) in enumerate(examples):
            for column, text in enumerate((location, *_mapped(example))):
                item = QTableWidgetItem(" ".join(text.split())[:300])
                item.setToolTip(text[:2000])
                self.preview.setItem(row, column, item)
        self.preview.resizeColumnToContents(0)

    def _fill_problems(self, problems: list[str], total: int) -> None:
        self.problems.clear()
        self.problems.addItems(problems)
        if total > len(problems):
            self.problems.addItem(f"… and {total - len(problems):,} more")
        self.problems.setVisible(bool(problems))

    # ---- import ------------------------------------------------------------------------
    def start_import(self) -> None:
        if self.current is None:
            return
        parsed, path = self.current, self.current.path

        def run(store: Store, task: Task) -> ImportReport:
            # The preview's check stands unless the file changed since: no second read.
            return import_parsed(store, parsed, progress=task.progress,
                                 should_cancel=lambda: task.cancelled)

        self.import_button.setEnabled(False)
        self.cancel_button.setText("Cancel import")
        self.bar.setRange(0, 0)
        self.bar.show()
        self.rate = ImportRate()
        self.summary.setText(f"Importing {path.name}…")
        self.context.ops.progress.connect(self._progress)
        self.task = self.context.ops.run_task(f"Importing {path.name}", run,
                                              on_success=self._imported,
                                              on_failure=self._import_failed, owner=self,
                                              changes=Changes(prompts=True, responses=True,
                                                              labels=True))

    def _progress(self, title: str, done: int, total: int) -> None:
        if self.task is not None and title == self.task.title:
            self.bar.setRange(0, max(total, 1))
            self.bar.setValue(done)
            self.rate.update(done, total)
            if not self.task.cancelled:
                self.summary.setText(f"Importing: {self.rate.describe()}")
            self.progressed.emit(done, total)

    def _imported(self, report: ImportReport) -> None:
        self._finish()
        self.summary.setText(
            f"Imported {report.rows:,} rows: {report.prompts_added:,} new prompts,"
            f" {report.responses_added:,} new responses, {report.labels_added:,} new labels.")
        self.finished_import.emit(report)

    def _import_failed(self, error: BaseException) -> None:
        self._finish()
        if isinstance(error, ImportCancelledError):
            self.summary.setText("Import cancelled. Nothing was stored.")
        elif isinstance(error, StudioError):
            self.summary.setText(f"{error}")
        else:
            self.summary.setText(f"The import failed and nothing was stored: {error}")
        self.import_button.setEnabled(self.current is not None and self.current.ok)
        self.finished_import.emit(error)

    def _finish(self) -> None:
        self.context.ops.progress.disconnect(self._progress)
        self.task = None
        self.bar.hide()
        self.cancel_button.setText("Close")

    def cancel_or_close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.summary.setText("Cancelling…")
        else:
            self.reject()

    def reject(self) -> None:
        if self.task is not None:
            self.task.cancel()  # the import rolls back; closing must not leave it running
        super().reject()


def _mapped(example: Example) -> tuple[str, str, str]:
    """(prompt, response, label) as the import will store them."""
    prompt = example.messages[-1]["content"]
    if len(example.messages) > 1:
        prompt = f"[{len(example.messages)} turns] {prompt}"
    if example.chosen is not None:
        return prompt, f"chosen: {example.chosen}\nrejected: {example.rejected}", \
            "pair: chosen > rejected (DPO)"
    if example.completion is not None:
        return prompt, example.completion, \
            "thumbs up (KTO)" if example.label else "thumbs down (KTO)"
    if example.gold is not None:
        return prompt, example.gold, "gold answer (SFT)"
    return prompt, "", "prompt only (label later)"
