""""Export run bundle…": the selected run as a folder that trains on another machine
(accelerate / torchrun / Slurm / SkyPilot), written on the store worker."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QPushButton, QWidget

from studio.app.bundle import write_bundle
from studio.db.store import Store
from ui.context import AppContext


class BundleButton(QPushButton):
    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__("Export run bundle…", parent)
        self.context = context
        self.run_id: str | None = None
        self.setToolTip("Write this run as a self-contained folder with launch scripts for"
                        " accelerate, torchrun, Slurm and SkyPilot; bring the result back with"
                        " 'tuning-studio runs --import FOLDER'.")
        self.clicked.connect(self._choose)
        self.set_run(None)

    def set_run(self, run_id: str | None) -> None:
        self.run_id = run_id
        self.setEnabled(run_id is not None)

    def _choose(self) -> None:
        if self.run_id is None:
            return
        parent = QFileDialog.getExistingDirectory(self, "Where to write the run bundle")
        if parent:
            self.export(Path(parent) / f"{self.run_id}-bundle")

    def export(self, out: Path) -> None:
        run_id = self.run_id
        if run_id is None:
            return

        def write(store: Store) -> Path:
            return write_bundle(store, run_id, out)

        self.setEnabled(False)
        self.context.ops.run(write, self._written, self._failed, owner=self)

    def _written(self, out: Path) -> None:
        self.setEnabled(self.run_id is not None)
        self.context.status_message.emit(f"Run bundle written to {out}: see its README.md")

    def _failed(self, error: BaseException) -> None:
        self.setEnabled(self.run_id is not None)
        self.context.status_message.emit(f"Could not write the bundle: {error}")
