"""Export the labels as a TRL-ready snapshot (train.jsonl, eval.jsonl, manifest.json)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from studio.app.data import Snapshot, export_snapshot
from ui.context import AppContext, Changes

KIND_NOTES = {
    "sft": "SFT: gold answers and thumbs-up answers as conversations (messages).",
    "dpo": "DPO: prompt / chosen / rejected from pairwise labels, edits and thumbs.",
    "kto": "KTO: prompt / completion / label from thumbs (and gold answers as desirable).",
}


class ExportDialog(QDialog):
    exported = Signal(object)  # Snapshot, or the error

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Export a training snapshot")
        self.setMinimumWidth(560)
        form = QFormLayout(self)
        self.kind = QComboBox()
        for kind in ("sft", "dpo", "kto"):
            self.kind.addItem(kind.upper(), kind)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        form.addRow("Dataset", self.kind)
        self.note = QLabel(objectName="Muted")
        self.note.setWordWrap(True)
        form.addRow(self.note)
        self.folder = QLineEdit()
        pick = QPushButton("Choose…")
        pick.clicked.connect(self._choose)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(pick)
        form.addRow("Folder", row)
        self.eval_fraction = QDoubleSpinBox(decimals=2, minimum=0.0, maximum=0.5,
                                            singleStep=0.05, value=0.1)
        self.eval_fraction.setToolTip("Share of prompts held out for evaluation.")
        form.addRow("Eval share", self.eval_fraction)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.seed.setToolTip("Seed of the train/eval split; the same seed gives the same split.")
        form.addRow("Seed", self.seed)
        self.result = QLabel()
        self.result.setWordWrap(True)
        form.addRow(self.result)
        buttons = QHBoxLayout()
        buttons.addStretch()
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        self.export_button = QPushButton("Export")
        self.export_button.setProperty("primary", True)
        self.export_button.clicked.connect(self.export)
        buttons.addWidget(close)
        buttons.addWidget(self.export_button)
        form.addRow(buttons)
        self._kind_changed()

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.note.setText(KIND_NOTES[kind])
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.folder.setText(str(self.context.paths.snapshots / f"{kind}-{stamp}"))

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Parent folder of the snapshot")
        if folder:
            self.folder.setText(str(Path(folder) / Path(self.folder.text()).name))

    def export(self) -> None:
        kind, out = self.kind.currentData(), Path(self.folder.text())
        fraction, seed = self.eval_fraction.value(), self.seed.value()
        self.export_button.setEnabled(False)
        self.result.setText("Exporting…")
        self.context.ops.run(lambda store: export_snapshot(store, kind, out, fraction, seed),
                             on_success=self._done, on_failure=self._failed, owner=self,
                             changes=Changes(snapshots=True))

    def _done(self, snapshot: Snapshot) -> None:
        self.export_button.setEnabled(True)
        self.result.setObjectName("GoodText")
        self.result.setText(
            f"Snapshot <b>{snapshot.id}</b>: {snapshot.counts['train']:,} train and"
            f" {snapshot.counts['eval']:,} eval examples in {snapshot.path}")
        self.exported.emit(snapshot)

    def _failed(self, error: BaseException) -> None:
        self.export_button.setEnabled(True)
        self.result.setObjectName("ErrorText")
        self.result.setText(str(error))
        self.exported.emit(error)
