"""The Train page's "Probe the base model" for GRPO: before a launch, the base model answers a
few of the chosen prompts and the graders score them, so the person sees its pass rate (and a
"no signal" warning at 0%) before spending hours on a run.

The use case is :func:`studio.app.training.create_probe` (run on the store worker: it
snapshots the prompts and writes the job folder); the job is ``backends.train_grpo_probe``, a
child process run by a :class:`JobRunner`. The outcome goes out as pre-flight checks on
``outcome``; the page shows them with the launch's. Probing never blocks a launch.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from studio.app.train_checks import PROBE_MODULE, Check, not_probed, probe_checks
from studio.app.training import Probe, create_probe
from studio.db.store import Store
from studio.events import Event
from studio.training.config import TrainConfig
from ui.context import AppContext, Changes
from ui.runners.job_runner import JobRunner, JobStrip


class GrpoProbeWidget(QWidget):
    """The probe button, its progress and Cancel. ``requested`` when pressed (the setup panel
    answers with :meth:`start` and the current config); ``outcome`` with a list of checks."""

    requested = Signal()
    outcome = Signal(object)  # list[Check]: the probe's result in the pre-flight's words

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.preparing = False  # the job folder is being written on the store worker
        self.stopped = False  # after shutdown(): start no process
        # The probe only reads the snapshot and the model: it declares no database changes.
        self.runner = JobRunner(PROBE_MODULE, self)
        self.button = QPushButton("Probe the base model")
        self.button.setObjectName("probeButton")
        self.button.setToolTip("Sample a few of the chosen prompts with the base model and"
                               " score the answers with the graders: GRPO learns nothing if"
                               " the base model never passes. Launching does not wait for"
                               " this.")
        self.button.clicked.connect(self.requested)
        self.strip = JobStrip(self.runner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.strip)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(lambda message: self._report(not_probed(message),
                                                                "Probe failed."))
        self.runner.cancelled.connect(lambda _event: self._report(
            [], "Probe cancelled: nothing was measured."))
        self.runner.ended.connect(self._update_button)

    @property
    def busy(self) -> bool:
        return self.preparing or self.runner.running

    def start(self, config: TrainConfig) -> None:
        """Snapshot the prompts and write the job on the store worker, then run it."""
        if self.busy:
            return
        self.preparing = True
        self._update_button()
        paths = self.context.paths

        def prepare(store: Store) -> Probe:
            return create_probe(store, paths, config)

        # The prompt snapshot is registered in the store, as a launch's is.
        self.context.ops.run(prepare, on_success=self._launch, on_failure=self._not_started,
                             owner=self, changes=lambda probe: Changes(
                                 snapshots=True, origin=self) if probe.job_dir else None)

    def _launch(self, probe: Probe) -> None:
        self.preparing = False
        if self.stopped:  # the page closed while the job folder was being written
            return
        if probe.job_dir is None:
            self._report(probe.checks, "")
            return
        self.runner.start(probe.job_dir)
        self.strip.started(f"Sampling {probe.prompts} prompts with the base model…")
        self._update_button()

    def _not_started(self, error: BaseException) -> None:
        self.preparing = False
        self._report(not_probed(str(error)), "")

    def _finished(self, event: Event) -> None:
        self.strip.bar.setRange(0, 1)
        self.strip.bar.setValue(1)
        self._report(probe_checks(event), f"Sampled {event.get('groups')} prompts in"
                     f" {event.get('wall_s')} s.")

    def _report(self, checks: list[Check], status: str) -> None:
        self.strip.say(status)
        self._update_button()
        self.outcome.emit(checks)

    def _update_button(self) -> None:
        self.button.setEnabled(not self.busy)

    def shutdown(self) -> None:
        """Stop a running probe (window close, tests); it writes nothing worth keeping."""
        self.stopped = True
        if self.runner.running:
            self.runner.cancel()
            # wait() blocks the event loop, so the runner's own kill timer cannot fire.
            if not self.runner.wait(10_000):
                self.runner.kill()
                self.runner.wait(5_000)
