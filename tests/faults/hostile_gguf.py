"""Hostile GGUFs for the fault suite: copies of the tiny model's GGUF with changed metadata,
written with the ``gguf`` package's own writer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MISSING = object()  # remove the key instead of setting it


def rewrite(source: Path, out: Path, changes: dict[str, Any]) -> Path:
    """Copy ``source`` to ``out`` with metadata ``changes`` (a value, or MISSING to drop)."""
    import gguf

    reader = gguf.GGUFReader(source)
    arch = reader.get_field(gguf.Keys.General.ARCHITECTURE)
    assert arch is not None
    writer = gguf.GGUFWriter(out, arch=str(arch.contents()), endianess=reader.endianess)
    for field in reader.fields.values():
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
            continue
        if field.name in changes:
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), kind, sub_type=sub)
    for key, value in changes.items():
        if value is MISSING:
            continue
        kind = gguf.GGUFValueType.STRING if isinstance(value, str) else \
            gguf.GGUFValueType.UINT32
        writer.add_key_value(key, value, kind)
    for tensor in reader.tensors:
        writer.add_tensor_info(tensor.name, tensor.data.shape, tensor.data.dtype,
                               tensor.data.nbytes, tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for tensor in reader.tensors:
        writer.write_tensor_data(tensor.data, tensor_endianess=reader.endianess)
    writer.close()
    return out
