"""A table of GRPO's sampled answers and their scores, from the run's ``completions`` events.

The newest sampling is on top; only the last few samplings are kept (each event holds a
handful of answers), so the table stays small however long the run.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from studio.events import Event

KEEP_ROWS = 40
HEADERS = ("Step", "Prompt", "Answer", "Scores")


class CompletionsTableWidget(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(HEADERS), parent)
        self.setObjectName("grpoCompletions")
        self.setHorizontalHeaderLabels(HEADERS)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.setToolTip("Answers GRPO sampled during training and what each grader gave them")

    def add_events(self, events: list[Event]) -> None:
        for event in events:
            if event.event != "completions":
                continue
            for sample in reversed(event.get("samples") or []):
                self._prepend(int(event.get("step") or 0), sample)
        while self.rowCount() > KEEP_ROWS:
            self.removeRow(self.rowCount() - 1)

    def _prepend(self, step: int, sample: dict[str, object]) -> None:
        self.insertRow(0)
        scores = sample.get("scores") or {}
        text = ", ".join(f"{k} {v:g}" for k, v in scores.items()  # type: ignore[union-attr]
                         if isinstance(v, (int, float)))
        cells = (str(step), str(sample.get("prompt", "")), str(sample.get("completion", "")),
                 text)
        for column, value in enumerate(cells):
            item = QTableWidgetItem(value)
            item.setToolTip(str(sample.get("reason", "")) if column == 3 else value)
            self.setItem(0, column, item)
