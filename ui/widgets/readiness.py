"""The readiness panel: what the labels can train now, against recommended minimums."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QProgressBar, QWidget

from studio.app.data import RECOMMENDED
from studio.app.overview import ReadinessReport

METHOD_NAMES = {"sft": "SFT", "dpo": "DPO", "kto": "KTO"}


class ReadinessWidget(QFrame):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Card")
        grid = QGridLayout(self)
        grid.setContentsMargins(14, 10, 14, 10)
        grid.setVerticalSpacing(4)
        grid.addWidget(QLabel("TRAINING READINESS", objectName="CardTitle"), 0, 0, 1, 3)
        self.rows: dict[str, tuple[QLabel, QProgressBar, QLabel]] = {}
        captions = {"sft": "SFT examples", "dpo": "DPO pairs", "kto": "KTO thumbs"}
        for row, kind in enumerate(("sft", "dpo", "kto"), start=1):
            name, bar, note = QLabel(captions[kind]), QProgressBar(), QLabel(objectName="Muted")
            bar.setTextVisible(False)
            bar.setMinimumWidth(40)
            note.setWordWrap(True)  # "5 / 500 (5 up · 0 down)" may take two lines when narrow
            bar.setRange(0, RECOMMENDED[kind])
            grid.addWidget(name, row, 0)
            grid.addWidget(bar, row, 1)
            grid.addWidget(note, row, 2)
            self.rows[kind] = (name, bar, note)
        grid.setColumnStretch(1, 1)
        self.summary = QLabel(objectName="Muted")
        self.summary.setWordWrap(True)
        grid.addWidget(self.summary, 4, 0, 1, 3)

    def show_report(self, report: ReadinessReport) -> None:
        ready = report.readiness
        counts = {"sft": ready.sft, "dpo": ready.dpo, "kto": ready.kto_up + ready.kto_down}
        for kind, (_, bar, note) in self.rows.items():
            bar.setValue(min(counts[kind], RECOMMENDED[kind]))
            text = f"{counts[kind]:,} / {RECOMMENDED[kind]:,}"
            if kind == "kto":
                text += f"  ({ready.kto_up:,} up · {ready.kto_down:,} down)"
            note.setText(text)
        self.summary.setText(_summary(report))


def _summary(report: ReadinessReport) -> str:
    ready = report.readiness
    parts = []
    if ready.recommended is None and not (ready.sft or ready.dpo or ready.kto_up
                                          or ready.kto_down):
        parts.append("No training data yet: label some answers on the Label page.")
    elif ready.recommended is None:
        parts.append(ready.why)
    else:
        parts.append(f"Your data supports <b>{METHOD_NAMES[ready.recommended]}</b> best.")
        parts.append(ready.why)  # why, and why not KTO when thumbs are unbalanced
    if bool(ready.kto_up) != bool(ready.kto_down):
        parts.append("KTO needs both thumbs up and thumbs down.")
    if ready.conflicts:
        parts.append(f"{ready.conflicts} conflicting label(s) are left out.")
    if report.duplicates:
        parts.append(f"{report.duplicates} near-duplicate prompt(s) (same text up to case).")
    parts.append("Minimums follow the smol course: about 1,000 good examples for SFT.")
    return " ".join(parts)
