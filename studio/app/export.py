"""Export a model to GGUF: the one use case behind the Models page's Export and
``tuning-studio export-model``.

:func:`prepare_export` decides what both would otherwise each decide: which folder is
exported (a registered model or any folder), the default quantisation (that of the GGUF the
base came from, else Q4_K_M), whether an adapter-only GGUF is written (adapters only), and
the GGUF it is self-checked against (the one the resolver runs the adapter's parent with; an
adapter-only GGUF was never checked before). The page runs the job with its ``JobRunner``,
the CLI with ``run_foreground``.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from pathlib import Path

from studio.db.store import Store
from studio.errors import StudioError
from studio.paths import DataPaths
from studio.registry.export_config import QUANT_TYPES, create_export_job
from studio.registry.gguf_import import export_quant
from studio.registry.gguf_resolve import NoGGUFError, resolve_gguf
from studio.registry.models import base_of, get_model

EXPORTABLE = ("base", "adapter", "merged")


def export_source(store: Store, source: str | Path) -> tuple[Path, str | None]:
    """(folder to export, registered model id or None): a folder as it is, or a registered
    base, adapter or merged model's folder."""
    path = Path(source).expanduser()
    if path.is_dir():
        return path.resolve(), None
    entry = get_model(store, str(source))  # NotFoundError names the id
    if entry.kind not in EXPORTABLE or not Path(entry.path).is_dir():
        raise StudioError(f"model {source} ({entry.kind}) has no local folder to export")
    return Path(entry.path), entry.id


def prepare_export(store: Store, paths: DataPaths, source: str | Path,
                   quants: list[str] | None = None, lora_gguf: bool = False,
                   out: Path | None = None) -> Path:
    """Write the export job for ``source`` (a model id or a folder); returns its folder."""
    folder, model_id = export_source(store, source)
    is_adapter = (folder / "adapter_config.json").is_file()
    if not quants:
        origin = base_of(store, model_id).meta if model_id else {}
        quants = [export_quant(origin, QUANT_TYPES)]
    lora_gguf = lora_gguf and is_adapter
    base_gguf = _full_precision_base(store, model_id) if lora_gguf and model_id else None
    return create_export_job(paths.exports, out, db=paths.db, parent_id=model_id,
                             quants=quants, lora_gguf=lora_gguf, base_gguf=base_gguf,
                             **{"adapter" if is_adapter else "model": folder})


def _full_precision_base(store: Store, adapter_id: str) -> Path | None:
    """The parent's GGUF the adapter-only GGUF is checked on, where it is full precision:
    the check compares with transformers at its strict bar, which a quantised base (the
    starter's Q4_1) would fail for the quantisation, not the adapter. None: left unchecked."""
    parent = get_model(store, adapter_id).parent_id
    if parent is None:
        return None
    try:
        found = resolve_gguf(store, parent)
    except NoGGUFError:
        return None
    return Path(found.model_path) if (found.model.quant or "").upper() in FULL else None


FULL = ("F16", "BF16", "F32")

__all__ = [
    "EXPORTABLE",
    "QUANT_TYPES",
    "export_source",
    "prepare_export",
]
