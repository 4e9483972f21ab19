"""Which GGUF files an export writes: F16 always, any quantizations, the adapter-only GGUF."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from studio.app.models import ModelEntry

# Besides F16, which is always written and self-checked against transformers. Sizes are of F16.
EXPORT_CHOICES = {"Q8_0": "54%; near-lossless", "Q6_K": "42%", "Q5_K_M": "37%",
                  "Q4_K_M": "32%; the usual choice", "Q4_0": "29%; fastest on older CPUs"}
DEFAULT_QUANTS = ("Q4_K_M",)


class GGUFExportDialog(QDialog):
    """Which GGUF files to write: F16 always, any quantizations, the adapter-only GGUF."""

    def __init__(self, entry: ModelEntry, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Export {entry.name} to GGUF")
        layout = QVBoxLayout(self)
        always = QCheckBox("F16 (always written, and self-checked against transformers)")
        always.setChecked(True)
        always.setEnabled(False)
        layout.addWidget(always)
        layout.addWidget(QLabel("Quantized copies (each checked against the F16 file):"))
        self.quant_boxes: dict[str, QCheckBox] = {}
        for quant, note in EXPORT_CHOICES.items():
            size, _, hint = note.partition("; ")
            box = QCheckBox(f"{quant}  (about {size} of F16's size{', ' + hint if hint else ''})")
            box.setChecked(quant in DEFAULT_QUANTS)
            self.quant_boxes[quant] = box
            layout.addWidget(box)
        self.lora_box = QCheckBox("Adapter-only GGUF (chat with base + adapter, unmerged)")
        self.lora_box.setToolTip("A small file that llama.cpp applies on top of the base"
                                 " model's GGUF at load time.")
        self.lora_box.setChecked(entry.kind == "adapter")
        self.lora_box.setEnabled(entry.kind == "adapter")
        layout.addWidget(self.lora_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def quants(self) -> list[str]:
        """The ticked quantizations; ``["F16"]`` (F16 alone) when none is ticked."""
        return [q for q, box in self.quant_boxes.items() if box.isChecked()] or ["F16"]

    def lora_gguf(self) -> bool:
        return self.lora_box.isEnabled() and self.lora_box.isChecked()
