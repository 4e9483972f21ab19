"""Add a model: a local folder, a hub id (fetched by the ``backends.fetch_model`` job), a GGUF
file found on disk, the starter SmolLM2 or the tiny demo model. What the Add model dialog,
the first-start panel and ``tuning-studio add-model`` share.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.registry.demo import create_demo_job
from studio.registry.gguf_import import (
    check_importable,
    create_import_job,
    export_quant,
    lineage_text,
    registered_from_gguf,
)
from studio.registry.gguf_scan import FoundGGUF, scan_all
from studio.registry.hub import create_fetch_job, needs_download
from studio.registry.locate import hf_cache_dirs, is_hub_id, resolve_model_dir
from studio.registry.starter import STARTER_NAME, converted_starter, hub_reachable, starter_folder

__all__ = [
    "STARTER_NAME",
    "FoundGGUF",
    "check_importable",
    "converted_starter",
    "create_demo_job",
    "create_fetch_job",
    "create_import_job",
    "export_quant",
    "hf_cache_dirs",
    "hub_reachable",
    "is_hub_id",
    "lineage_text",
    "needs_download",
    "registered_from_gguf",
    "resolve_model_dir",
    "scan_all",
    "starter_folder",
]
