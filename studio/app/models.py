"""The model registry as the Models page and ``tuning-studio models`` show it: list, tree with
lineage, details, rename, delete, and the chat-ready targets.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from studio.registry.gguf_info import GGUFInfo, read_gguf_info
from studio.registry.models import (
    ModelEntry,
    ModelNode,
    add_base_model,
    base_of,
    chat_targets,
    delete_model,
    get_model,
    list_models,
    model_details,
    model_tree,
    rename_model,
)

__all__ = [
    "GGUFInfo",
    "ModelEntry",
    "ModelNode",
    "add_base_model",
    "base_of",
    "chat_targets",
    "delete_model",
    "get_model",
    "list_models",
    "model_details",
    "model_tree",
    "read_gguf_info",
    "rename_model",
]
