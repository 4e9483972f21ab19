"""The Train page: pick data, base model, method and preset; launch; watch the run live.

Runs are separate processes in their own session (they keep going when the app closes). The
page re-attaches by reading the run registry and the run folder: a timer reconciles the
registry (and advances the queue) on the store worker, and an EventTailer follows the shown
run's events.jsonl. Selecting several runs in the history overlays their curves.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QFontDatabase, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.data.snapshots import export_snapshot
from studio.errors import StudioError
from studio.events import Event, read_events
from studio.labels.store import Store
from studio.registry.locate import hf_cache_dirs
from studio.registry.models import list_models
from studio.training import runs as registry
from studio.training.config import (
    DATA_KIND,
    METHOD_HELP,
    METHODS,
    PRESET_HELP,
    PRESETS,
    TrainConfig,
)
from studio.training.describe import describe
from studio.training.preflight import Check, preflight
from studio.training.remembered import FILE_NAME as SETTINGS_FILE
from studio.training.remembered import recall, remember
from ui.context import AppContext, Changes
from ui.pages.train_form import ConfigFormWidget, align_labels
from ui.runners.process_runner import EventTailer
from ui.widgets.bundle_button import BundleButton
from ui.widgets.model_download import ModelDownloadWidget
from ui.widgets.plots import MetricsPlotWidget
from ui.widgets.readiness import ReadinessReport, ReadinessWidget, compute

POLL_MS = 2000
STATUS_COLOURS = {"running": "#2563eb", "completed": "#15803d", "failed": "#b91c1c",
                  "cancelled": "#a16207", "queued": "#6b7280"}


@dataclass
class PageState:
    runs: list[registry.Run]
    readiness: ReadinessReport | None = None
    models: list[tuple[str, str]] | None = None  # (label, path)


@dataclass
class LaunchResult:
    checks: list[Check]
    run: registry.Run | None


def cached_hub_models() -> list[tuple[str, str]]:
    found = []
    for cache in hf_cache_dirs():
        for folder in sorted(cache.glob("models--*")):
            if any(folder.glob("snapshots/*/config.json")):
                found.append((folder.name[len("models--"):].replace("--", "/") + " (HF cache)",
                              folder.name[len("models--"):].replace("--", "/")))
    return found


class TrainPage(QWidget):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.current: registry.Run | None = None
        self.runs_by_id: dict[str, registry.Run] = {}
        self.tailer: EventTailer | None = None
        self.step_times: list[tuple[float, int]] = []
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self._setup_panel())
        splitter.addWidget(self._run_panel())
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)
        context.changed.connect(self._on_changed)
        self._reset_form()
        self.refresh(full=True)

    # ---- layout ------------------------------------------------------------------------
    def _setup_panel(self) -> QWidget:
        panel = QWidget()
        column = QVBoxLayout(panel)
        column.addWidget(QLabel("Train", objectName="PageTitle"))
        self.readiness = ReadinessWidget()
        column.addWidget(self.readiness)
        form = QFormLayout()
        self.method = QComboBox(objectName="method")
        for method in METHODS:
            self.method.addItem(method.upper(), method)
        self.method.currentIndexChanged.connect(self._reset_form)
        self.method_help = QLabel(objectName="Muted", wordWrap=True)
        self.model = QComboBox(objectName="model", editable=True)
        self.model.setToolTip(TrainConfig.__dataclass_fields__["model"].metadata["help"])
        self.model.lineEdit().setPlaceholderText("a model folder or a hub id (owner/name)")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_model)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(browse)
        self.preset = QComboBox(objectName="preset")
        for name in PRESETS:
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1, PRESET_HELP[name],
                                    Qt.ItemDataRole.ToolTipRole)
        self.preset.setCurrentText("balanced")
        self.preset.currentIndexChanged.connect(self._reset_form)
        form.addRow("Method", self.method)
        form.addRow("", self.method_help)
        form.addRow("Base model", model_row)
        self.download = ModelDownloadWidget(self.context)
        self.model.currentTextChanged.connect(self.download.follow)
        self.download.downloaded.connect(self.model.setCurrentText)
        form.addRow("", self.download)
        form.addRow("Preset", self.preset)
        align_labels(form)
        column.addLayout(form)
        self.form = ConfigFormWidget()
        column.addWidget(self.form)
        self.launch_button = QPushButton("Check and launch")
        self.launch_button.setProperty("primary", True)  # the stylesheet's primary button
        self.launch_button.clicked.connect(self.launch)
        column.addWidget(self.launch_button)
        self.checks_label = QLabel(wordWrap=True, objectName="checks")
        self.checks_label.setTextFormat(Qt.TextFormat.RichText)
        column.addWidget(self.checks_label)
        column.addStretch()
        scroll = QScrollArea(widgetResizable=True)
        scroll.setWidget(panel)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(460)
        return scroll

    def _run_panel(self) -> QWidget:
        panel = QWidget()
        column = QVBoxLayout(panel)
        self.status = QLabel("No run selected", objectName="runStatus", wordWrap=True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        column.addWidget(self.status)
        bar_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setFormat("step %v / %m")
        self.eta = QLabel(objectName="Muted")
        bar_row.addWidget(self.progress, 1)
        bar_row.addWidget(self.eta)
        column.addLayout(bar_row)
        buttons = QHBoxLayout()
        self.cancel_button = QPushButton("Cancel")
        self.resume_button = QPushButton("Resume")
        self.folder_button = QPushButton("Open run folder")
        self.cancel_button.clicked.connect(self.cancel)
        self.resume_button.clicked.connect(self.resume)
        self.folder_button.clicked.connect(self.open_folder)
        self.bundle_button = BundleButton(self.context)
        for button in (self.cancel_button, self.resume_button, self.folder_button,
                       self.bundle_button):
            buttons.addWidget(button)
        buttons.addStretch()
        column.addLayout(buttons)
        self.plots = MetricsPlotWidget()
        column.addWidget(self.plots, 3)
        lower = QSplitter(Qt.Orientation.Horizontal)
        self.history = QListWidget(objectName="history")
        self.history.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.history.itemSelectionChanged.connect(self._on_selection)
        self.log = QPlainTextEdit(readOnly=True, objectName="log")
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)  # long errors wrap
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log.setMaximumBlockCount(5000)
        lower.addWidget(self.history)
        lower.addWidget(self.log)
        column.addWidget(QLabel("Runs (select several to overlay their curves)"))
        column.addWidget(lower, 2)
        self._show_buttons()
        return panel

    # ---- setup -------------------------------------------------------------------------
    @property
    def method_name(self) -> str:
        return str(self.method.currentData())

    def _reset_form(self) -> None:
        self.method_help.setText(METHOD_HELP[self.method_name])
        preset = str(self.preset.currentData())
        # The last settings launched with this method and preset (a small file: a few ms).
        last = recall(self.context.paths.root / SETTINGS_FILE, self.method_name, preset)
        self.form.set_config(last or TrainConfig.for_method(self.method_name, "", preset))
        if last is not None and not self.model.currentText():
            self.model.setCurrentText(last.model)

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a model folder")
        if folder:
            self.model.setCurrentText(folder)

    def config(self) -> TrainConfig:
        values = self.form.values()
        config = TrainConfig(method=self.method_name, model=self.model.currentText().strip(),
                             preset=str(self.preset.currentData()), **values)
        config.check("settings")
        return config

    # ---- actions -----------------------------------------------------------------------
    def launch(self) -> None:
        try:
            config = self.config()
        except StudioError as error:
            self._show_checks([Check("error", "config", str(error))])
            return
        paths = self.context.paths

        def prepare(store: Store) -> LaunchResult:
            kind = DATA_KIND[config.method]  # SimPO/ORPO train on DPO pairs
            snapshot = export_snapshot(store, kind, paths.snapshots / f"{kind}-latest")
            checks = preflight(replace(config, snapshot_dir=str(snapshot.path)))
            if any(check.level == "error" for check in checks):
                return LaunchResult(checks, None)
            run = registry.create_run(store, paths, config, snapshot.path)
            remember(paths.root / SETTINGS_FILE, config)
            registry.start_next(store, paths)
            return LaunchResult(checks, registry.get_run(store, run.id))

        self.launch_button.setEnabled(False)
        self.checks_label.setText("Checking…")
        self.context.ops.run(prepare, self._launched, self._launch_failed, owner=self)

    def _launched(self, result: LaunchResult) -> None:
        self.launch_button.setEnabled(True)
        self._show_checks(result.checks)
        if result.run is not None:
            self.context.announce(Changes(runs=True, models=True, snapshots=True, origin=self))
            self.refresh(select=result.run.id)

    def _launch_failed(self, error: BaseException) -> None:
        self.launch_button.setEnabled(True)
        self._show_checks([Check("error", "launch", str(error))])

    def _show_checks(self, checks: list[Check]) -> None:
        colours = {"error": "#b91c1c", "warning": "#a16207", "info": "#4b5563"}
        words = {"error": "Problem", "warning": "Warning", "info": "Note"}
        self.checks_label.setText("<br>".join(
            f"<span style='color:{colours[c.level]}'><b>{words[c.level]}:</b>"
            f" {html.escape(c.message, quote=False)}</span>" for c in checks))

    def cancel(self) -> None:
        if self.current is not None:
            run_id = self.current.id
            self.status.setText("Stopping: saving a checkpoint…")
            self.context.ops.run(lambda store: registry.cancel_run(store, run_id),
                                 lambda _run: self.refresh(), self._report, owner=self)

    def resume(self) -> None:
        if self.current is not None:
            run_id, paths = self.current.id, self.context.paths

            def resume(store: Store) -> None:
                registry.resume_run(store, run_id)
                registry.start_next(store, paths)

            self.context.ops.run(resume, lambda _none: self.refresh(select=run_id),
                                 self._report, owner=self)

    def open_folder(self) -> None:
        if self.current is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.current.run_dir)))

    def _report(self, error: BaseException) -> None:
        self.context.status_message.emit(str(error))

    # ---- refresh -----------------------------------------------------------------------
    def poll(self) -> None:
        if not self.context.ops.busy:
            self.refresh()

    def refresh(self, full: bool = False, select: str | None = None) -> None:
        paths = self.context.paths

        def load(store: Store) -> PageState:
            # Studio's own launcher: this runs on the store worker thread, where no Qt object may be
            # made (a QProcess there crashed the app as one run ended and the next started).
            registry.start_next(store, paths)  # reconcile, advance the queue
            state = PageState(registry.list_runs(store))
            if full:
                state.readiness = compute(store)
                state.models = [(m.name, m.path) for m in list_models(store, "base")]
                state.models += cached_hub_models()
            return state

        self.context.ops.run(load, lambda state: self._show_state(state, select), owner=self)

    def _on_changed(self, changes: Changes) -> None:
        if changes.origin is not self and (changes.labels or changes.models or changes.runs):
            self.refresh(full=True)

    def _show_state(self, state: PageState, select: str | None) -> None:
        if state.readiness is not None:
            self.readiness.show_report(state.readiness)
            recommended = state.readiness.readiness.recommended
            if recommended and not self.model.currentText():
                self.method.setCurrentIndex(METHODS.index(recommended))
        if state.models is not None:
            typed = self.model.currentText()
            self.model.clear()
            for label, path in state.models:
                self.model.addItem(label, path)
                self.model.setItemData(self.model.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
            self.model.setCurrentText(typed or (state.models[0][1] if state.models else ""))
        self._fill_history(state.runs, select)

    def _fill_history(self, runs: list[registry.Run], select: str | None) -> None:
        self.runs_by_id = {run.id: run for run in runs}
        selected = [select] if select else self._selected_ids()
        if not selected:
            live = [r.id for r in runs if r.status == "running"]
            selected = live[:1] or [r.id for r in runs[:1]]
        with QSignalBlocker(self.history):
            if self._history_ids() != [run.id for run in runs]:
                self.history.clear()
                for run in runs:
                    item = QListWidgetItem()
                    item.setData(Qt.ItemDataRole.UserRole, run.id)
                    self.history.addItem(item)
            for row, run in enumerate(runs):
                item = self.history.item(row)
                item.setText(_history_text(run))
                item.setToolTip(run.error or str(run.run_dir))
                item.setSelected(run.id in selected)
        current = self.runs_by_id.get(selected[0]) if selected else None
        if select or (current and current.id) != (self.current and self.current.id):
            self._on_selection()
        else:
            self.current = current
            self._show_status()

    def _history_ids(self) -> list[str]:
        return [self.history.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.history.count())]

    # ---- the shown runs ----------------------------------------------------------------
    def _selected_ids(self) -> list[str]:
        return [item.data(Qt.ItemDataRole.UserRole) for item in self.history.selectedItems()]

    def _on_selection(self) -> None:
        """Show the first selected run live (tailer, log, progress) and overlay the others."""
        ids = [i for i in self._selected_ids() if i in self.runs_by_id]
        self.current = self.runs_by_id[ids[0]] if ids else None
        if self.tailer is not None:
            self.tailer.stop()
            self.tailer.deleteLater()
            self.tailer = None
        self.plots.clear()
        self.log.clear()
        self.progress.reset()
        self.eta.clear()
        self.step_times = []
        if self.current is not None:
            self.tailer = EventTailer(self.current.dir.events, self)
            self.tailer.events.connect(self._on_events)
            self.tailer.poll()
        others = {i: self.runs_by_id[i].dir.events for i in ids[1:]}
        if others:
            def read(_store: Store) -> dict[str, list[Event]]:
                return {i: read_events(path) for i, path in others.items()}

            self.context.ops.run(read, self._show_overlays, owner=self)
        self._show_status()

    def _show_overlays(self, events: dict[str, list[Event]]) -> None:
        selected = self._selected_ids()
        for run_id, run_events in events.items():
            if run_id in selected:
                self.plots.add_events(run_id, run_events)

    def _on_events(self, events: list[Event]) -> None:
        if self.current is None:
            return
        self.plots.add_events(self.current.id, events)
        for event in events:
            self.log.appendPlainText(describe(event))
            if event.event == "started":
                self.step_times = []
            if event.event == "step":
                self.progress.setRange(0, int(event.get("max_steps") or 0))
                self.progress.setValue(int(event.get("step") or 0))
                self.step_times.append((event.t, int(event.get("step") or 0)))
        self.eta.setText(_eta(self.step_times, self.progress.maximum()))
        terminal = [e for e in events if e.is_terminal]
        if terminal:
            # An ETA after the end (a cancel, a failure) misleads; say how it ended instead.
            self.eta.setText(_ending(terminal[-1]))
            self.refresh()

    def _show_status(self) -> None:
        run = self.current
        if run is None:
            self.status.setText("No run selected")
        else:
            colour = STATUS_COLOURS.get(run.status, "#111")
            text = (f"<b>{run.method.upper()} run {run.id}</b> · "
                    f"<span style='color:{colour}'>{run.status}</span>")
            if run.error:
                text += f"<br><span style='color:#b91c1c'>{run.error}</span>"
            self.status.setText(text)
        self._show_buttons()

    def _show_buttons(self) -> None:
        run = self.current
        self.cancel_button.setEnabled(run is not None and run.status in {"running", "queued"})
        self.resume_button.setEnabled(run is not None and run.offers_resume)
        self.folder_button.setEnabled(run is not None)
        self.bundle_button.set_run(run.id if run is not None else None)

    def showEvent(self, event: QShowEvent) -> None:
        # Poll only while visible: the training process advances the queue by itself.
        self.timer.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self.timer.stop()
        super().hideEvent(event)

    def shutdown(self) -> None:
        """Stop following runs (they keep training); for window close and tests."""
        self.timer.stop()
        self.download.shutdown()
        if self.tailer is not None:
            self.tailer.stop()


def _history_text(run: registry.Run) -> str:
    metrics = run.metrics or {}
    accuracy = metrics.get("eval_rewards/accuracies")
    summary = f" · held-out acc {accuracy:.2f}" if isinstance(accuracy, (int, float)) else ""
    loss = metrics.get("eval_loss")
    summary += f" · eval loss {loss:.3f}" if isinstance(loss, (int, float)) else ""
    return f"{run.id} · {run.method.upper()} · {run.status}{summary}"


def _ending(event: Event) -> str:
    """The line under the progress bar once a run ended: its speed when it finished."""
    if event.event != "finished":
        return event.event
    rate, wall = event.get("tokens_per_s"), event.get("wall_s")
    parts = ["finished"] + ([f"{rate:,.0f} tokens/s"] if rate else []) + (
        [f"{wall:,.0f} s"] if isinstance(wall, (int, float)) else [])
    return " · ".join(parts)


def _eta(times: list[tuple[float, int]], max_steps: int) -> str:
    if len(times) < 2 or max_steps <= 0:
        return ""
    (t0, s0), (t1, s1) = times[0], times[-1]
    if s1 <= s0 or t1 <= t0:
        return ""
    remaining = (max_steps - s1) * (t1 - t0) / (s1 - s0)
    minutes, seconds = divmod(int(remaining), 60)
    return f"ETA {minutes}:{seconds:02d}" if remaining > 0 else "done"

