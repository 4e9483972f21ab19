"""The Label page's filter bar: source, tag, model and (in Pairwise) how pairs are formed."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from studio.app.label import QueueFilter, response_models
from studio.db.store import Store
from ui.context import AppContext

ANY = "Any"
PAIRINGS = {"All pairs": "all", "Adjacent pairs": "adjacent"}
PAIRING_TIP = ("All pairs: every two responses of a prompt (N candidates give N(N-1)/2 pairs)."
               " Adjacent pairs: consecutive candidates only (N-1 pairs), to keep the count"
               " linear.")


class LabelFilterWidget(QWidget):
    """Combo boxes the person changes with the mouse; keys stay with the page."""

    changed = Signal()  # the filter the queue should use changed

    def __init__(self, context: AppContext, parent: QWidget | None = None):
        super().__init__(parent)
        self.context = context
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.source_box, self.tag_box, self.model_box = QComboBox(), QComboBox(), QComboBox()
        self.source_box.setToolTip("Only prompts from this import or source.")
        self.tag_box.setToolTip("Only prompts with this tag.")
        self.model_box.setToolTip("Only responses written by this model: e.g. the candidates"
                                  " of a Generate run.")
        for caption, box in (("Source", self.source_box), ("Tag", self.tag_box),
                             ("Model", self.model_box)):
            box.addItem(ANY)
            box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            box.setMinimumWidth(96)
            box.setMaximumWidth(200)  # long source names must not push the window wider
            box.currentTextChanged.connect(self._changed)
            row.addWidget(QLabel(caption, objectName="Muted"))
            row.addWidget(box)
        self.pairing_box = QComboBox()
        self.pairing_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for caption, value in PAIRINGS.items():
            self.pairing_box.addItem(caption, value)
        self.pairing_box.setToolTip(PAIRING_TIP)
        self.pairing_box.currentIndexChanged.connect(self._changed)
        self.pairing_label = QLabel("Pairs", objectName="Muted")
        row.addWidget(self.pairing_label)
        row.addWidget(self.pairing_box)

    def show_pairing(self, visible: bool) -> None:
        self.pairing_box.setVisible(visible)
        self.pairing_label.setVisible(visible)

    def current(self) -> QueueFilter:
        source, tag, model = (box.currentText() for box in (self.source_box, self.tag_box,
                                                             self.model_box))
        return QueueFilter(None if source == ANY else source, None if tag == ANY else tag,
                           None if model == ANY else model,
                           str(self.pairing_box.currentData() or "all"))

    def set_filter(self, model: str | None = None, pairing: str | None = None) -> None:
        """Select a model and/or a pairing by code, then announce one change."""
        with QSignalBlocker(self.model_box), QSignalBlocker(self.pairing_box):
            if model is not None:
                if self.model_box.findText(model) < 0:
                    self.model_box.addItem(model)
                self.model_box.setCurrentText(model)
            if pairing is not None:
                self.pairing_box.setCurrentIndex(max(0, self.pairing_box.findData(pairing)))
        self._changed()

    def reload(self) -> None:
        """Refill the choices from the store, off the UI thread."""
        from studio.app.data import sources_and_tags

        def load(store: Store) -> tuple[list[str], list[str], list[str]]:
            return (*sources_and_tags(store), response_models(store))

        self.context.ops.run(load, on_success=self._fill, owner=self)

    def _fill(self, found: tuple[list[str], list[str], list[str]]) -> None:
        boxes = (self.source_box, self.tag_box, self.model_box)
        for box, values in zip(boxes, found, strict=True):
            current = box.currentText()
            with QSignalBlocker(box):
                box.clear()
                box.addItems([ANY, *values])
                box.setCurrentText(current if current in values else ANY)

    def _changed(self) -> None:
        self.changed.emit()
