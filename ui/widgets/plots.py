"""Live training curves: loss (train and held-out) and reward accuracy, one colour per run.

:class:`MetricsPlotWidget` keeps the points of each run and redraws only the curves that
changed, so appending a step costs one ``setData`` per curve, whatever the run length.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from studio.events import Event
from ui.theme import colors, signals

COLOURS = ("#3b82f6", "#f97316", "#10b981", "#e11d48", "#8b5cf6", "#eab308", "#06b6d4")
# (plot, metric key, event kind, label, dashed)
SERIES = (
    ("loss", "loss", "step", "train loss", False),
    ("loss", "eval_loss", "eval", "held-out loss", True),
    ("reward", "rewards/accuracies", "step", "train reward accuracy", False),
    ("reward", "eval_rewards/accuracies", "eval", "held-out reward accuracy", True),
    ("reward", "reward", "step", "GRPO mean reward", False),
    ("reward", "reward_std", "step", "GRPO reward spread (std)", True),
)


@dataclass
class RunCurves:
    colour: str
    points: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    items: dict[str, pg.PlotDataItem] = field(default_factory=dict)


class MetricsPlotWidget(QWidget):
    """Two stacked plots sharing the step axis; runs are added, extended and removed by id."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        self.view = pg.GraphicsLayoutWidget()
        self.loss_plot = self.view.addPlot(row=0, col=0, title="Loss")
        self.reward_plot = self.view.addPlot(row=2, col=0,
                                             title="Reward accuracy / GRPO reward")
        self.reward_plot.setXLink(self.loss_plot)
        self.reward_plot.setYRange(0, 1)
        for plot in (self.loss_plot, self.reward_plot):
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setLabel("bottom", "step")
        self.plots = {"loss": self.loss_plot, "reward": self.reward_plot}
        # Each legend sits in its own row under its plot: drawn inside the plot, it covered
        # the curves it names (the newest points, top right).
        self.legends = {name: pg.LegendItem(colCount=2) for name in self.plots}
        self.view.addItem(self.legends["loss"], row=1, col=0)
        self.view.addItem(self.legends["reward"], row=3, col=0)
        for row, stretch in ((0, 1), (1, 0), (2, 1), (3, 0)):  # the plots take the height
            self.view.ci.layout.setRowStretchFactor(row, stretch)
        for name in self.legends:
            self._fit_legend(name)
        self.runs: dict[str, RunCurves] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.follow_theme()
        signals.changed.connect(self.follow_theme)

    def follow_theme(self, _name: str = "") -> None:
        """Plot background, axes and titles in the app's colours (they stayed white in dark)."""
        tokens = colors()
        self.view.setBackground(tokens["panel"])
        for plot in self.plots.values():
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(tokens["muted"])
                axis.setTextPen(tokens["text"])
            plot.titleLabel.setText(plot.titleLabel.text, color=tokens["text"])
        for legend in self.legends.values():
            legend.setLabelTextColor(tokens["text"])

    def run_ids(self) -> list[str]:
        return list(self.runs)

    def show_runs(self, run_events: dict[str, list[Event]]) -> None:
        """Show exactly these runs (the history selection), with all their events."""
        for run_id in [r for r in self.runs if r not in run_events]:
            self.remove_run(run_id)
        for run_id, events in run_events.items():
            self.remove_run(run_id)
            self.add_events(run_id, events)

    def remove_run(self, run_id: str) -> None:
        curves = self.runs.pop(run_id, None)
        if curves is None:
            return
        for key, item in curves.items.items():
            self.plots[_plot_of(key)].removeItem(item)
            self.legends[_plot_of(key)].removeItem(item)
            self._fit_legend(_plot_of(key))

    def clear(self) -> None:
        for run_id in list(self.runs):
            self.remove_run(run_id)

    def add_events(self, run_id: str, events: list[Event]) -> None:
        """Append a run's new events; curves appear when their first point does."""
        curves = self.runs.get(run_id)
        if curves is None:
            curves = RunCurves(COLOURS[len(self.runs) % len(COLOURS)])
            self.runs[run_id] = curves
        changed: set[str] = set()
        for event in events:
            for _, key, kind, _, _ in SERIES:
                value = event.get(key)
                if event.event == kind and isinstance(value, (int, float)):
                    xs, ys = curves.points.setdefault(key, ([], []))
                    xs.append(float(event.get("step", len(xs) + 1)))
                    ys.append(float(value))
                    changed.add(key)
        for key in changed:
            self._draw(run_id, curves, key)

    def point_count(self, run_id: str, key: str) -> int:
        curves = self.runs.get(run_id)
        return len(curves.points.get(key, ([], []))[0]) if curves else 0

    def _draw(self, run_id: str, curves: RunCurves, key: str) -> None:
        xs, ys = curves.points[key]
        item = curves.items.get(key)
        if item is None:
            _, _, kind, label, dashed = next(s for s in SERIES if s[1] == key)
            pen = pg.mkPen(curves.colour, width=2,
                           style=pg.QtCore.Qt.PenStyle.DashLine if dashed else
                           pg.QtCore.Qt.PenStyle.SolidLine)
            name = f"{label} · {run_id[-8:]}"  # the id's tail: method and a short tag
            symbol = "o" if kind == "eval" else None
            item = self.plots[_plot_of(key)].plot(
                [], [], pen=pen, name=name, symbol=symbol, symbolSize=5,
                symbolBrush=curves.colour)
            self.legends[_plot_of(key)].addItem(item, name)
            self._fit_legend(_plot_of(key))
            curves.items[key] = item
        item.setData(xs, ys)


    def _fit_legend(self, name: str) -> None:
        """An empty legend takes no height from its plot (at 700 px every row counts)."""
        legend = self.legends[name]
        legend.setVisible(bool(legend.items))
        legend.setMaximumHeight(1e6 if legend.items else 0)


def _plot_of(key: str) -> str:
    return next(plot for plot, name, *_ in SERIES if name == key)
