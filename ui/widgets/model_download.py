"""A "Download" button for a hub model id that is not on this machine yet, with progress."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from studio.app.add_model import create_fetch_job, needs_download
from studio.events import Event
from ui.context import AppContext, Changes
from ui.runners.job_runner import JobRunner, JobStrip


class ModelDownloadWidget(QWidget):
    """Shown under the base-model box while its text is a hub id that is not cached."""

    downloaded = Signal(str)  # the hub id, now in the local cache and registered

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.runner = JobRunner("fetch_model", self, context=context,
                                changes=Changes(models=True, origin=self))
        self.button = QPushButton("Download from the Hugging Face hub")
        self.button.setToolTip("Fetch the model's config, safetensors weights and tokenizer"
                               " into the local Hugging Face cache.")
        self.button.clicked.connect(self.start)
        self.strip = JobStrip(self.runner)
        self.strip.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.strip)
        self.runner.finished.connect(self._finished)
        self.runner.failed.connect(self.strip.say)
        self.runner.cancelled.connect(lambda _event: self.strip.say("Download cancelled."))
        self.runner.ended.connect(lambda: self.button.setEnabled(True))
        self.hub_id = ""
        self.setVisible(False)

    def follow(self, text: str) -> None:
        """Show the button only when ``text`` names a model that must be downloaded first."""
        self.hub_id = text.strip()
        self.setVisible(self.runner.running or needs_download(self.hub_id))

    def start(self) -> None:
        job = create_fetch_job(self.context.paths.root / "jobs", self.hub_id,
                               self.context.paths.db)
        self.button.setEnabled(False)
        self.strip.show()
        self.strip.started(f"Connecting to the hub for {self.hub_id}…")
        self.runner.start(job)

    def _finished(self, event: Event) -> None:
        self.strip.say(f"Downloaded to {event.get('path')}")
        self.downloaded.emit(str(event.get("hub_id") or self.hub_id))
        self.setVisible(False)

    def shutdown(self) -> None:
        if self.runner.running:
            self.runner.cancel()
            self.runner.wait(10_000)
