"""JSON snapshots of a library's ABI: what ``elfaudit dump --format json`` writes.

A snapshot can stand in for the ELF file everywhere a library is accepted
(``compare OLD.json NEW.so``), so reading one back is as strict as reading ELF.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from elfaudit.base.errors import SnapshotError
from elfaudit.base.fileio import read_json
from elfaudit.base.jsonio import json_kind
from elfaudit.model.abi import ImportedSymbol, LibraryABI, Symbol, VersionDef, VersionNeed

SCHEMA_VERSION = 1
KIND = "elfaudit-dump"


def library_to_dict(abi: LibraryABI, *, imports: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "path": abi.path,
        "sha256": abi.sha256,
        "soname": abi.soname,
        "needed": list(abi.needed),
        "machine": abi.machine,
        "class": abi.elf_class,
        "byte_order": abi.byte_order,
        "versions": [
            {
                "name": v.name,
                "index": v.index,
                "parents": list(v.parents),
                "base": v.base,
                "weak": v.weak,
            }
            for v in abi.versions
        ],
        "markers": list(abi.markers),
        "version_needs": [
            {"file": n.file, "name": n.name, "index": n.index, "weak": n.weak}
            for n in abi.version_needs
        ],
        "symbols": [
            {
                "name": s.name,
                "version": s.version,
                "default": s.default,
                "type": s.type,
                "binding": s.binding,
                "visibility": s.visibility,
                "size": s.size,
            }
            for s in abi.symbols
        ],
    }
    if imports:
        out["imports"] = [
            {"name": i.name, "version": i.version, "file": i.file, "weak": i.weak}
            for i in abi.imports
        ]
    return out


def dump_document(abis: Iterable[LibraryABI], *, imports: bool = False) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "libraries": [library_to_dict(a, imports=imports) for a in abis],
    }


def _req(d: dict[str, Any], key: str, typ: type | tuple[type, ...], where: str) -> Any:
    if key not in d:
        raise ValueError(f"{where}: missing '{key}'")
    val = d[key]
    if not isinstance(val, typ) or (isinstance(val, bool) and typ is int):
        raise ValueError(f"{where}: '{key}' has the wrong type")
    return val


def _objects(items: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where[i], item)`` for each item of a JSON list, which must hold objects."""
    if not isinstance(items, list):
        raise ValueError(f"{where}: not a list")
    for i, item in enumerate(items):
        w = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise ValueError(f"{w}: not an object")
        yield w, item


def library_from_dict(d: Any, where: str = "library") -> LibraryABI:
    if not isinstance(d, dict):
        raise ValueError(f"{where}: not an object")
    versions = []
    for w, v in _objects(_req(d, "versions", list, where), f"{where}.versions"):
        parents = _req(v, "parents", list, w)
        if not all(isinstance(p, str) for p in parents):
            raise ValueError(f"{w}: 'parents' must be strings")
        versions.append(
            VersionDef(
                name=_req(v, "name", str, w),
                index=_req(v, "index", int, w),
                parents=tuple(parents),
                base=_req(v, "base", bool, w),
                weak=bool(v.get("weak", False)),
            )
        )
    symbols = []
    for w, s in _objects(_req(d, "symbols", list, where), f"{where}.symbols"):
        symbols.append(
            Symbol(
                name=_req(s, "name", str, w),
                version=_req(s, "version", (str, type(None)), w),
                default=_req(s, "default", bool, w),
                type=_req(s, "type", str, w),
                binding=_req(s, "binding", str, w),
                visibility=_req(s, "visibility", str, w),
                size=_req(s, "size", int, w),
            )
        )
    needs = []
    for w, n in _objects(d.get("version_needs", []), f"{where}.version_needs"):
        needs.append(
            VersionNeed(
                file=_req(n, "file", str, w),
                name=_req(n, "name", str, w),
                index=_req(n, "index", int, w),
                weak=bool(n.get("weak", False)),
            )
        )
    imports = []
    for w, m in _objects(d.get("imports", []), f"{where}.imports"):
        imports.append(
            ImportedSymbol(
                name=_req(m, "name", str, w),
                version=_req(m, "version", (str, type(None)), w),
                file=_req(m, "file", (str, type(None)), w),
                weak=bool(m.get("weak", False)),
            )
        )
    needed = _req(d, "needed", list, where)
    if not all(isinstance(n, str) for n in needed):
        raise ValueError(f"{where}: 'needed' must be strings")
    markers = d.get("markers", [])
    if not isinstance(markers, list) or not all(isinstance(m, str) for m in markers):
        raise ValueError(f"{where}: 'markers' must be strings")
    elf_class = _req(d, "class", int, where)
    if elf_class not in (32, 64):
        raise ValueError(f"{where}: 'class' must be 32 or 64")
    byte_order = _req(d, "byte_order", str, where)
    if byte_order not in ("little", "big"):
        raise ValueError(f"{where}: 'byte_order' must be little or big")
    path = d.get("path")
    if path is not None and not isinstance(path, str):
        raise ValueError(f"{where}: 'path' has the wrong type")
    return LibraryABI(
        path=path or where,
        soname=_req(d, "soname", (str, type(None)), where),
        needed=tuple(needed),
        machine=_req(d, "machine", str, where),
        elf_class=elf_class,
        byte_order=byte_order,
        versions=tuple(versions),
        symbols=tuple(symbols),
        markers=tuple(markers),
        version_needs=tuple(needs),
        imports=tuple(imports),
        sha256=d.get("sha256") if isinstance(d.get("sha256"), str) else None,
    )


def looks_like_snapshot(head: bytes) -> bool:
    """True when a file's first bytes look like JSON rather than ELF or an archive."""
    return head.lstrip()[:1] == b"{"


def read_snapshot(path: str | os.PathLike[str]) -> list[LibraryABI]:
    """Read a ``dump --format json`` document (one or several libraries)."""
    p = os.fspath(path)
    doc = read_json(p, error=SnapshotError)
    try:
        if not isinstance(doc, dict) or doc.get("kind") != KIND:
            raise ValueError(f'not an elfaudit dump (expected "kind": "{KIND}")')
        if doc.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"unsupported schema_version {json_kind(doc.get('schema_version'))}")
        libs = doc.get("libraries")
        if not isinstance(libs, list) or not libs:
            raise ValueError("'libraries' must be a non-empty list")
        return [library_from_dict(lib, f"libraries[{i}]") for i, lib in enumerate(libs)]
    except ValueError as exc:
        raise SnapshotError(p, f"invalid snapshot: {exc}") from exc
