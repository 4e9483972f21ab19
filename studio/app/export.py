"""Export a model to GGUF: the quantisation types and the export job.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.registry.export_config import QUANT_TYPES, create_export_job

__all__ = [
    "QUANT_TYPES",
    "create_export_job",
]
