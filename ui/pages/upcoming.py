"""Honest empty states for the pages other parts of the app are still building.

Each is replaced by the real page with one line in ``ui/main_window.py``'s ``PAGES``.
"""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from ui.context import AppContext
from ui.widgets.empty_state import EmptyStateWidget


class _UpcomingPage(QWidget):
    TITLE = ""
    TEXT = ""

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        layout = QVBoxLayout(self)
        layout.addWidget(EmptyStateWidget(self.TITLE, self.TEXT))


class TrainUpcomingPage(_UpcomingPage):
    TITLE = "Training is not available in this build yet"
    TEXT = (
        "Here you will fine-tune a local model on your labels with LoRA: SFT on gold answers,"
        " KTO on thumbs, DPO on pairs. Runs happen in a separate process with live loss"
        " curves, and keep going if you close the window.<br><br>Until then, label on the"
        " <b>Label</b> page and export TRL-ready snapshots from the <b>Data</b> page."
    )


class ModelsUpcomingPage(_UpcomingPage):
    TITLE = "No model registry in this build yet"
    TEXT = (
        "Here you will find the base models, the adapters your runs produced and their GGUF"
        " exports for llama.cpp, with where each came from."
    )


class CompareUpcomingPage(_UpcomingPage):
    TITLE = "Side-by-side comparison is not available in this build yet"
    TEXT = (
        "Here you will chat with the base and the tuned model side by side and vote blind;"
        " each vote becomes a new preference pair for the next run."
    )
