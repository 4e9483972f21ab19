"""Run bundles for multi-GPU machines and clusters: write one, import a finished one back.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.training.bundle import write_bundle
from studio.training.bundle_import import import_bundle

__all__ = [
    "import_bundle",
    "write_bundle",
]
