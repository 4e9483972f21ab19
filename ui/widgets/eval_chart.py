"""The score across rounds on the rounds board: for one eval set, the starting model's and
each round's model's pass rate with its 95% interval (from
``studio.rounds.scores.round_scores``)."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from studio.app.evaluate import Score, list_eval_sets
from studio.app.rounds import round_scores
from studio.db.store import Store
from ui.context import AppContext, Changes
from ui.theme import colors, signals
from ui.widgets.plots import COLOURS

Points = list[tuple[str, Score | None]]


class EvalScoreChart(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.points: Points = []
        self.set_box = QComboBox()
        self.set_box.setToolTip("The eval set whose score is charted across rounds.")
        self.set_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.set_box.currentIndexChanged.connect(self._load_points)
        self.note = QLabel(objectName="Muted")
        self.plot = pg.PlotWidget()
        self.plot.setYRange(0, 1)
        self.plot.setLabel("left", "pass rate")
        self.plot.showGrid(x=False, y=True, alpha=0.2)
        self.plot.setMinimumHeight(160)
        self.follow_theme()  # pyqtgraph's own black background, in the light theme too
        signals.changed.connect(self.follow_theme)
        header = QHBoxLayout()
        header.addWidget(QLabel("Eval score across rounds", objectName="CardTitle"))
        header.addWidget(self.set_box)
        header.addWidget(self.note, 1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(header)
        column.addWidget(self.plot, 1)
        context.changed.connect(self._on_changed)
        self.refresh()

    def follow_theme(self, _name: str = "") -> None:
        tokens = colors()
        self.plot.setBackground(tokens["panel"])
        for side in ("left", "bottom"):
            axis = self.plot.getAxis(side)
            axis.setPen(tokens["muted"])
            axis.setTextPen(tokens["text"])

    def refresh(self) -> None:
        self.context.ops.run(lambda store: [s.name for s in list_eval_sets(store)],
                             on_success=self._show_sets, owner=self)

    def _on_changed(self, changes: Changes) -> None:
        if changes.models or changes.runs:
            self.refresh()

    def _show_sets(self, names: list[str]) -> None:
        current = self.set_box.currentData()
        self.set_box.blockSignals(True)
        self.set_box.clear()
        for name in names:
            self.set_box.addItem(name, name)
        self.set_box.setCurrentIndex(max(0, self.set_box.findData(current)))
        self.set_box.blockSignals(False)
        self.setVisible(bool(names))
        self._load_points()

    def _load_points(self) -> None:
        name = self.set_box.currentData()
        if not name:
            return

        def load(store: Store) -> Points:
            return round_scores(store, str(name))

        self.context.ops.run(load, on_success=self.show_points, owner=self)

    def show_points(self, points: Points) -> None:
        self.points = points
        self.plot.clear()
        scored = [(x, s) for x, (_, s) in enumerate(points) if s is not None]
        self.plot.getAxis("bottom").setTicks([[(x, label) for x, (label, _) in
                                               enumerate(points)]])
        missing = len(points) - len(scored)
        self.note.setText(f"{missing} model(s) not evaluated on this set" if missing else "")
        if not scored:
            return
        xs = np.array([float(x) for x, _ in scored])
        rates = np.array([s.interval.rate for _, s in scored])
        highs = np.array([s.interval.high for _, s in scored])
        lows = np.array([s.interval.low for _, s in scored])
        self.plot.addItem(pg.ErrorBarItem(x=xs, y=rates, top=highs - rates,
                                          bottom=rates - lows, beam=0.2,
                                          pen=pg.mkPen(colors()["muted"])))
        self.plot.plot(xs, rates, pen=pg.mkPen(COLOURS[0], width=2), symbol="o",
                       symbolBrush=COLOURS[0])
