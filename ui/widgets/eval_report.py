"""The eval report of one model on one set: pass rate with its 95% interval per model (the
parent before, this model after, side by side), the paired test's verdict in words, and the
prompts whose result flipped with both responses."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from studio.app.evaluate import EvalReport, Score, eval_report
from ui.context import AppContext

SCORE_COLUMNS = ("", "Model", "Pass rate", "95% interval", "Prompts", "Engine")
FLIP_COLUMNS = ("Change", "Prompt", "Before", "After")
CLIP = 200  # characters of a response shown in a cell; the tooltip has all of it


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= CLIP else flat[:CLIP] + "…"


def score_cells(role: str, name: str, score: Score | None) -> list[str]:
    if score is None:
        return [role, name, "not evaluated", "", "", ""]
    i = score.interval
    return [role, name, f"{i.rate:.0%}", f"{i.low:.0%}-{i.high:.0%}", str(i.n),
            score.engine or ""]


class EvalReportWidget(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.report: EvalReport | None = None
        self.title = QLabel(objectName="CardTitle")
        self.scores = QTreeWidget()
        self.scores.setHeaderLabels(list(SCORE_COLUMNS))
        self.scores.setRootIsDecorated(False)
        self.scores.setMaximumHeight(90)
        self.verdict = QLabel()
        self.verdict.setWordWrap(True)
        self.flips_title = QLabel(objectName="Muted")
        self.flips = QTreeWidget()
        self.flips.setHeaderLabels(list(FLIP_COLUMNS))
        self.flips.setRootIsDecorated(False)
        self.flips.setWordWrap(True)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        for widget in (self.title, self.scores, self.verdict, self.flips_title):
            column.addWidget(widget)
        column.addWidget(self.flips, 1)

    def load(self, set_name: str, model_id: str) -> None:
        """Read the report on the store worker, then show it."""
        self.context.ops.run(lambda store: eval_report(store, set_name, model_id),
                             on_success=self.show_report, owner=self,
                             on_failure=lambda error: self.verdict.setText(str(error)))

    def show_report(self, report: EvalReport) -> None:
        self.report = report
        self.title.setText(f"Eval set “{report.set_name}”")
        self.scores.clear()
        if report.parent_id:
            self.scores.addTopLevelItem(QTreeWidgetItem(
                score_cells("before", report.parent_name or "", report.parent_score)))
        self.scores.addTopLevelItem(QTreeWidgetItem(
            score_cells("after" if report.parent_id else "", report.model_name, report.score)))
        for index in range(len(SCORE_COLUMNS)):
            self.scores.resizeColumnToContents(index)
        self.verdict.setText(report.verdict)
        self._show_flips(report)

    def _show_flips(self, report: EvalReport) -> None:
        self.flips.clear()
        flips = report.comparison.flips if report.comparison else []
        self.flips_title.setText(f"{len(flips)} prompt(s) flipped" if flips else "")
        self.flips.setVisible(bool(flips))
        for flip in flips:
            item = QTreeWidgetItem(["better" if flip.better else "worse", _clip(flip.prompt),
                                    _clip(flip.before), _clip(flip.after)])
            for col, text in ((1, flip.prompt), (2, flip.before), (3, flip.after)):
                item.setToolTip(col, text)
            item.setData(0, Qt.ItemDataRole.UserRole, flip.key)
            self.flips.addTopLevelItem(item)
        self.flips.resizeColumnToContents(0)
        # The prompt and both responses share the rest; the tooltips hold the full texts.
        rest = max(300, self.flips.viewport().width() - self.flips.columnWidth(0))
        for column, share in ((1, 0.3), (2, 0.35)):
            self.flips.setColumnWidth(column, int(rest * share))
