"""Which GGUF runs a registered model: the one rule behind Generate, Compare, the chat panes,
Eval and the LLM judge (each used to decide it for itself, and they disagreed).

llama.cpp loads a full-model GGUF, plus a LoRA GGUF where an adapter was exported that way:

- a full-model GGUF runs as itself;
- a LoRA GGUF runs on a full-model GGUF of the model its adapter was trained on (the adapter's
  parent: the base, or a merged model that was tuned again; the LoRA's deltas are relative
  to that model's weights, not to the root base's);
- a base or merged model runs as a full-model GGUF registered under it. For a base that
  includes the GGUF it was converted from (the starter's Q4_1, registered by
  :func:`studio.registry.models.add_source_gguf`), so it is chat-ready without an export;
- an adapter runs as its own exported GGUF (registered under a merged copy of it, or under
  the adapter itself), else as its newest LoRA GGUF on its parent's GGUF. The merged export
  comes first: it is the file that gets shipped, and it needs no GGUF of the parent.

Only files that exist on disk count. Where several full-model GGUFs qualify, **F16 comes
first, then the newest registration**. F16 is the export's reference: every quantization is
self-checked against it and the LoRA GGUF against the model it is applied to, so scores,
candidates and Compare votes measure the model rather than a quantization of it, and a base
and its tuned model, both on F16, differ only by the tuning. Without an F16 the newest file
(the latest export) wins. The cost is speed: on CPU, F16 decodes about half as fast as Q4.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.db.store import Store
from studio.errors import StudioError
from studio.registry.entries import ModelEntry, children, get_model, list_models

PREFERRED_QUANT = "F16"


class NoGGUFError(StudioError):
    """A model that llama.cpp cannot run: no GGUF of it exists yet (the message says which
    model to export)."""


@dataclass(frozen=True)
class GGUFFiles:
    """What llama.cpp loads for a model: a full-model GGUF and, for an adapter run unmerged,
    a LoRA GGUF. ``label`` is the name the chat panes, Generate and the votes use."""

    model: ModelEntry
    lora: ModelEntry | None = None

    @property
    def model_path(self) -> str:
        return self.model.path

    @property
    def lora_path(self) -> str | None:
        return self.lora.path if self.lora is not None else None

    @property
    def label(self) -> str:
        return f"{self.model.name} + {self.lora.name}" if self.lora else self.model.name


def resolve_gguf(store: Store, model_id: str) -> GGUFFiles:
    """How llama.cpp runs ``model_id`` (any kind), by the rule of this module's docstring.

    Raises :class:`NoGGUFError` saying why when nothing runs it, and
    :class:`studio.errors.NotFoundError` for an unknown id."""
    entry = get_model(store, model_id)
    if entry.is_full_gguf:
        if not entry.exists:
            raise NoGGUFError(f"the GGUF file of {entry.name} ({entry.id}) is gone: {entry.path}")
        return GGUFFiles(entry)
    if entry.is_lora_gguf:
        return _on_parent(store, _parent(store, entry), entry)
    if entry.kind == "adapter":
        return _adapter(store, entry)
    found = _preferred(_full_ggufs(store, entry.id))
    if found is None:
        raise NoGGUFError(_export_first(entry))
    return GGUFFiles(found)


def chat_ready(store: Store) -> list[GGUFFiles]:
    """Every registered GGUF file as llama.cpp runs it: the full-model GGUFs, then each LoRA
    GGUF on its parent's GGUF, in registration order. Files that cannot run (gone, or a LoRA
    whose parent has no GGUF) are left out."""
    ggufs = list_models(store, "gguf")
    out: list[GGUFFiles] = []
    for entry in [g for g in ggufs if g.is_full_gguf] + [g for g in ggufs if g.is_lora_gguf]:
        try:
            out.append(resolve_gguf(store, entry.id))
        except NoGGUFError:
            continue  # not chat-ready: the UI says so when nothing is
    return out


def _adapter(store: Store, adapter: ModelEntry) -> GGUFFiles:
    own = _full_ggufs(store, adapter.id)
    for merged in (c for c in children(store, adapter.id) if c.kind == "merged"):
        own += _full_ggufs(store, merged.id)
    found = _preferred(sorted(own, key=lambda e: e.created_at))
    if found is not None:
        return GGUFFiles(found)
    loras = [c for c in children(store, adapter.id) if c.is_lora_gguf and c.exists]
    if not loras:
        raise NoGGUFError(_export_first(adapter))
    return _on_parent(store, adapter, loras[-1])


def _on_parent(store: Store, adapter: ModelEntry, lora: ModelEntry) -> GGUFFiles:
    """``lora`` (a LoRA GGUF of ``adapter``) on the GGUF of the model it was trained on."""
    parent = _parent(store, adapter)
    found = _preferred(_full_ggufs(store, parent.id))
    if found is None:
        raise NoGGUFError(f"{lora.name} is an adapter-only GGUF, and {parent.name}, the model"
                          f" it applies to, has no GGUF yet: export {parent.name} to GGUF, or"
                          f" export {adapter.name} merged ({_how(parent)})")
    return GGUFFiles(found, lora)


def _parent(store: Store, entry: ModelEntry) -> ModelEntry:
    if entry.parent_id is None:
        raise NoGGUFError(f"{entry.name} ({entry.id}) has no parent model registered, so"
                          " there is nothing to run it on")
    return get_model(store, entry.parent_id)


def _full_ggufs(store: Store, model_id: str) -> list[ModelEntry]:
    """The full-model GGUFs registered directly under ``model_id`` whose files exist."""
    return [c for c in children(store, model_id) if c.is_full_gguf and c.exists]


def _preferred(ggufs: list[ModelEntry]) -> ModelEntry | None:
    """F16 first, then the newest (``ggufs`` is oldest first); see the module docstring."""
    ranked = sorted(enumerate(ggufs), key=lambda pair: (pair[1].quant == PREFERRED_QUANT,
                                                        pair[0]))
    return ranked[-1][1] if ranked else None


def _export_first(entry: ModelEntry) -> str:
    return f"{entry.name} ({entry.id}) has no GGUF for llama.cpp yet: export it first" \
           f" ({_how(entry)})"


def _how(entry: ModelEntry) -> str:
    return f"Models page, Export to GGUF…, or `tuning-studio export-model {entry.id}`"
