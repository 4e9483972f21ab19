"""A small agreement report: Cohen's kappa between annotators and self-agreement."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.app.label import Agreement, between_annotators, self_agreement
from studio.db.store import Store
from ui.context import AppContext

KIND_NAMES = {"thumb": "Thumbs", "pair": "Pairwise"}


def _report(store: Store) -> tuple[list[Agreement], list[Agreement]]:
    return between_annotators(store), self_agreement(store)


class AgreementDialog(QDialog):
    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Agreement")
        self.resize(640, 460)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(
            "Cohen's κ corrects raw agreement for chance: 1 is perfect, 0 is chance level;"
            " above 0.6 is usually called substantial. Pairwise answers are compared by which"
            " response won, whatever side it was shown on.", objectName="Muted", wordWrap=True))
        layout.addWidget(QLabel("<b>Between annotators</b> (items both labeled)"))
        self.between = _table()
        layout.addWidget(self.between)
        layout.addWidget(QLabel("<b>Self-agreement</b> (blind re-labels against the earlier"
                                " answer; turn on the re-label sample in Settings)"))
        self.own = _table()
        layout.addWidget(self.own)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        context.ops.run(_report, on_success=self._show, owner=self)

    def _show(self, report: tuple[list[Agreement], list[Agreement]]) -> None:
        between, own = report
        _fill(self.between, between, "No two annotators have labeled the same items yet.")
        _fill(self.own, own, "No blind re-labels yet.")


def _table() -> QTableWidget:
    table = QTableWidget(0, 5)
    table.setHorizontalHeaderLabels(["Kind", "Annotators", "Items", "Same answer", "κ"])
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    return table


def _fill(table: QTableWidget, rows: list[Agreement], empty: str) -> None:
    if not rows:
        table.setRowCount(1)
        table.setSpan(0, 0, 1, 5)
        table.setItem(0, 0, QTableWidgetItem(empty))
        return
    table.setRowCount(len(rows))
    for index, row in enumerate(rows):
        who = row.first if row.first == row.second else f"{row.first} · {row.second}"
        kappa = "n/a (one answer only)" if row.kappa is None else f"{row.kappa:.2f}"
        for column, text in enumerate((KIND_NAMES[row.kind], who, f"{row.items:,}",
                                       f"{row.observed:.0%}", kappa)):
            table.setItem(index, column, QTableWidgetItem(text))
