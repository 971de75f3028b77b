"""The release graph's file format: each library block a delta against the first parent.

Encoding turns a :class:`~elfaudit.graph.records.LibraryRecord` into the JSON block stored
for one release (see :mod:`elfaudit.graph.dag` for the whole format), and a release's facts
of one section into its block, likewise a delta against the first parent's facts of that
section, item by item; decoding validates a parsed document and rebuilds every release's
records in topological order. Any problem is a :class:`GraphError` ``"<path>: corrupt
release graph: <what>"``.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from elfaudit.base.errors import GraphError
from elfaudit.base.jsonio import json_kind
from elfaudit.graph.records import (
    _NAME_BAD,
    _TIME_RE,
    FORMAT,
    FORMAT_VERSION,
    FORMAT_VERSION_SECTIONS,
    SYMBOL_FIELDS,
    LibraryRecord,
    NodeRecord,
    PrivateNode,
    ReleaseRecord,
    SymbolRecord,
)
from elfaudit.model.tags import release_key

# --------------------------------------------------------------------------- encoding


def _node_json(n: NodeRecord) -> dict[str, Any]:
    d: dict[str, Any] = {"name": n.name, "parents": list(n.parents)}
    if n.weak:
        d["weak"] = True
    return d


def _meta_json(lib: LibraryRecord) -> dict[str, Any]:
    return {
        "base_node": lib.base_node,
        "byte_order": lib.byte_order,
        "elf_class": lib.elf_class,
        "machine": lib.machine,
        "needed": list(lib.needed),
        "path": lib.path,
        "private": [{"name": p.name, "symbols": p.symbols} for p in lib.private],
        "sha256": lib.sha256,
        "soname": lib.soname,
    }


def _encode_library(lib: LibraryRecord, base: LibraryRecord | None) -> dict[str, Any]:
    block = _meta_json(lib)
    if base is not None:
        inherited = _meta_json(base)
        block = {k: v for k, v in block.items() if inherited[k] != v}
    if base is None:
        if lib.nodes:
            block["nodes"] = [_node_json(n) for n in lib.nodes]
        added = lib.symbols
        removed: frozenset[SymbolRecord] = frozenset()
    elif lib.nodes is base.nodes or lib.nodes == base.nodes:
        pass  # the usual case: no node delta (identity first: loaded records share it)
    else:
        cur = set(lib.nodes)
        old = set(base.nodes)
        kept = [n for n in base.nodes if n in cur]
        new = [n for n in lib.nodes if n not in old]
        if kept + new == list(lib.nodes):
            gone = [n.name for n in base.nodes if n not in cur]
            if gone:
                block["nodes_removed"] = gone
            if new:
                block["nodes_added"] = [_node_json(n) for n in new]
        else:
            block["nodes"] = [_node_json(n) for n in lib.nodes]
    if base is not None:
        if lib.symbols is base.symbols:
            added = removed = frozenset()
        else:
            added = lib.symbols - base.symbols
            removed = base.symbols - lib.symbols
    if added:
        block["symbols_added"] = [list(s) for s in sorted(added, key=SymbolRecord.sort_key)]
    if removed:
        block["symbols_removed"] = [list(s) for s in sorted(removed, key=SymbolRecord.sort_key)]
    return block


_SCALARS = (str, int, float, bool, type(None))


def _same(a: object, b: object) -> bool:
    """Equal as JSON (``1 == True`` in Python, not in JSON)."""
    if a is b:
        return True
    if a != b:
        return False
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def encode_facts(facts: Mapping[str, object], base: Mapping[str, object] | None) -> dict[str, Any]:
    """One section's block for one release: ``{"items": {...}}`` whole when the first parent
    has no facts of the section, else ``{"changed": {...}, "removed": [...]}`` (the items
    new or different, the keys gone; both omitted when empty: ``{}`` is "as the parent")."""
    if base is None:
        return {"items": {k: facts[k] for k in sorted(facts)}}
    block: dict[str, Any] = {}
    changed = {k: facts[k] for k in sorted(facts) if k not in base or not _same(base[k], facts[k])}
    removed = sorted(k for k in base if k not in facts)
    if changed:
        block["changed"] = changed
    if removed:
        block["removed"] = removed
    return block


# --------------------------------------------------------------------------- decoding


def _corrupt(path: str, what: str) -> GraphError:
    return GraphError(path, f"corrupt release graph: {what}")


class _Checker:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, what: str) -> GraphError:
        return _corrupt(self.path, f"{where}: {what}" if where else what)

    def mapping(self, x: Any, where: str) -> dict[str, Any]:
        if not isinstance(x, dict):
            raise self.fail(where, f"expected an object, got {json_kind(x)}")
        return x

    def obj(
        self, x: Any, where: str, required: Iterable[str], optional: Iterable[str] = ()
    ) -> dict[str, Any]:
        if not isinstance(x, dict):
            raise self.fail(where, f"expected an object, got {json_kind(x)}")
        req = set(required)
        missing = sorted(req - x.keys())
        if missing:
            raise self.fail(where, f"missing key {missing[0]!r}")
        extra = sorted(x.keys() - req - set(optional))
        if extra:
            raise self.fail(where, f"unknown key {extra[0]!r}")
        return x

    def string(self, x: Any, where: str, *, null: bool = False, empty: bool = False) -> Any:
        if x is None and null:
            return None
        if not isinstance(x, str) or (not empty and not x):
            raise self.fail(where, f"expected a non-empty string, got {json_kind(x)}")
        return x

    def integer(self, x: Any, where: str, *, minimum: int = 0) -> int:
        if not isinstance(x, int) or isinstance(x, bool) or x < minimum:
            raise self.fail(where, f"expected an integer >= {minimum}, got {json_kind(x)}")
        return x

    def array(self, x: Any, where: str) -> list[Any]:
        if not isinstance(x, list):
            raise self.fail(where, f"expected a list, got {json_kind(x)}")
        return x

    def strings(self, x: Any, where: str) -> tuple[str, ...]:
        return tuple(self.string(s, f"{where}[{i}]") for i, s in enumerate(self.array(x, where)))


_LIB_KEYS = (
    "base_node",
    "byte_order",
    "elf_class",
    "machine",
    "needed",
    "path",
    "private",
    "sha256",
    "soname",
)
_LIB_OPTIONAL = ("nodes", "nodes_added", "nodes_removed", "symbols_added", "symbols_removed")


def decode_releases(
    doc: Any, path: str, intern: dict[SymbolRecord, SymbolRecord]
) -> list[ReleaseRecord]:
    """Every release of a parsed graph document, parents before children (ties broken by
    release number), its symbol records interned in ``intern``."""
    ck = _Checker(path)
    version = doc.get("format_version") if isinstance(doc, dict) else None
    with_sections = version == FORMAT_VERSION_SECTIONS and not isinstance(version, bool)
    ck.obj(
        doc,
        "",
        ("format", "format_version", "libraries", "releases", "symbol_fields"),
        ("sections",) if with_sections else (),
    )
    if doc["format"] != FORMAT:
        raise ck.fail("format", f"expected {FORMAT!r}, got {json_kind(doc['format'])}")
    if doc["format_version"] not in (FORMAT_VERSION, FORMAT_VERSION_SECTIONS) or isinstance(
        doc["format_version"], bool
    ):
        raise ck.fail(
            "format_version",
            f"unsupported version {json_kind(doc['format_version'])} "
            f"(expected {FORMAT_VERSION} or {FORMAT_VERSION_SECTIONS})",
        )
    if doc["symbol_fields"] != list(SYMBOL_FIELDS):
        raise ck.fail("symbol_fields", f"expected {list(SYMBOL_FIELDS)}")
    rels = ck.mapping(doc["releases"], "releases")
    libs = ck.mapping(doc["libraries"], "libraries")

    headers: dict[str, tuple[tuple[str, ...], str, str | None, str | None]] = {}
    children: dict[str, list[str]] = {}
    for name, h in rels.items():
        where = f"releases[{name!r}]"
        if not name or name != name.strip() or _NAME_BAD.search(name):
            raise ck.fail(where, "invalid release name")
        ck.obj(h, where, ("note", "parents", "recorded_at", "source"))
        parents = ck.strings(h["parents"], f"{where}.parents")
        if len(set(parents)) != len(parents):
            raise ck.fail(where, "a parent is listed twice")
        stamp = ck.string(h["recorded_at"], f"{where}.recorded_at")
        if not _TIME_RE.match(stamp):
            raise ck.fail(f"{where}.recorded_at", f"not an ISO-8601 UTC time: {stamp[:40]!r}")
        try:
            datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            raise ck.fail(f"{where}.recorded_at", f"not a valid time: {stamp[:40]!r}") from None
        source = ck.string(h["source"], f"{where}.source", null=True, empty=True)
        note = ck.string(h["note"], f"{where}.note", null=True, empty=True)
        headers[name] = (parents, stamp, source, note)
        children[name] = []
    for name, (parents, *_rest) in headers.items():
        for p in parents:
            if p not in headers:
                raise ck.fail(f"releases[{name!r}]", f"unknown parent {p!r}")
            if p == name:
                raise ck.fail(f"releases[{name!r}]", "a release cannot follow itself")
            children[p].append(name)
    order = _topological(headers, children)
    if len(order) < len(headers):
        raise ck.fail("releases", f"cycle {_cycle(headers, set(order))}")

    blocks: dict[str, dict[str, Any]] = {}
    for lib_name, per_release in libs.items():
        ck.mapping(per_release, f"libraries[{lib_name!r}]")
        for rname, block in per_release.items():
            if rname not in headers:
                raise ck.fail(f"libraries[{lib_name!r}]", f"block for unknown release {rname!r}")
            blocks.setdefault(rname, {})[lib_name] = block

    section_blocks: dict[str, dict[str, Any]] = {}
    for section, per_release in ck.mapping(doc.get("sections", {}), "sections").items():
        where = f"sections[{section!r}]"
        if not section or _NAME_BAD.search(section):
            raise ck.fail(where, "invalid section name")
        for rname, block in ck.mapping(per_release, where).items():
            if rname not in headers:
                raise ck.fail(where, f"block for unknown release {rname!r}")
            section_blocks.setdefault(rname, {})[section] = block

    done: dict[str, ReleaseRecord] = {}
    for name in order:
        parents, stamp, source, note = headers[name]
        first = done[parents[0]] if parents else None
        sections: dict[str, dict[str, object]] = {}
        for section, block in sorted(section_blocks.get(name, {}).items()):
            base_facts = first.sections.get(section) if first is not None else None
            where = f"sections[{section!r}][{name!r}]"
            sections[section] = _decode_facts(ck, block, base_facts, where)
        records = []
        for lib_name, block in sorted(blocks.get(name, {}).items()):
            base = first.library(lib_name) if first is not None else None
            where = f"libraries[{lib_name!r}][{name!r}]"
            rec = _decode_library(ck, block, base, where, intern)
            if rec.name != lib_name:
                raise ck.fail(where, f"library is named {rec.name!r}, not {lib_name!r}")
            records.append(rec)
        done[name] = ReleaseRecord(name, parents, stamp, source, note, tuple(records), sections)
    return list(done.values())


Headers = dict[str, tuple[tuple[str, ...], str, "str | None", "str | None"]]


def _topological(headers: Headers, children: dict[str, list[str]]) -> list[str]:
    """Kahn's algorithm; among the releases ready, the lowest release number first."""
    waiting = {name: len(h[0]) for name, h in headers.items()}
    ready = [(release_key(n), n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for child in children[name]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (release_key(child), child))
    return order


def _cycle(headers: Headers, placed: set[str]) -> str:
    """``a -> b -> a``: a loop among the releases a topological order could not place."""
    start = min(n for n in headers if n not in placed)
    path = [start]
    seen = {start: 0}
    while True:
        parent = next(p for p in headers[path[-1]][0] if p not in placed)
        if parent in seen:
            loop = path[seen[parent] :][::-1]
            return " -> ".join([*loop, loop[0]])
        seen[parent] = len(path)
        path.append(parent)


def _decode_facts(
    ck: _Checker, block: Any, base: Mapping[str, object] | None, where: str
) -> dict[str, object]:
    """A release's facts of one section from its block and the first parent's facts."""
    ck.obj(block, where, (), ("items", "changed", "removed"))
    if "items" in block:
        if len(block) > 1:
            raise ck.fail(where, "'items' (a whole record) beside a delta")
        items = ck.mapping(block["items"], f"{where}.items")
        out: dict[str, object] = {}
    else:
        if base is None:
            raise ck.fail(where, "a delta, but the first parent has no facts of this section")
        items = ck.mapping(block.get("changed", {}), f"{where}.changed")
        out = dict(base)
        for i, key in enumerate(ck.strings(block.get("removed", []), f"{where}.removed")):
            if key not in out:
                raise ck.fail(f"{where}.removed[{i}]", f"{key!r} is not in the parent")
            del out[key]
    for key, value in items.items():
        if not key:
            raise ck.fail(where, "an empty item key")
        out[key] = value
    return {k: out[k] for k in sorted(out)}


def _decode_nodes(ck: _Checker, x: Any, where: str) -> list[NodeRecord]:
    out = []
    for i, n in enumerate(ck.array(x, where)):
        w = f"{where}[{i}]"
        ck.obj(n, w, ("name", "parents"), ("weak",))
        weak = n.get("weak", False)
        if not isinstance(weak, bool):
            raise ck.fail(f"{w}.weak", f"expected a boolean, got {json_kind(weak)}")
        out.append(NodeRecord(ck.string(n["name"], f"{w}.name"), ck.strings(n["parents"], w), weak))
    return out


def _decode_symbol(
    ck: _Checker, row: Any, where: str, intern: dict[SymbolRecord, SymbolRecord]
) -> SymbolRecord:
    if not isinstance(row, list) or len(row) != len(SYMBOL_FIELDS):
        raise ck.fail(where, f"expected a row of {len(SYMBOL_FIELDS)} fields, got {json_kind(row)}")
    name, node, default, typ, binding, vis, size = row
    if not isinstance(default, bool):
        raise ck.fail(where, f"field 'default' must be a boolean, got {json_kind(default)}")
    rec = SymbolRecord(
        ck.string(name, f"{where}.name"),
        ck.string(node, f"{where}.node", null=True),
        default,
        ck.string(typ, f"{where}.type"),
        ck.string(binding, f"{where}.binding"),
        ck.string(vis, f"{where}.visibility"),
        ck.integer(size, f"{where}.size"),
    )
    return intern.setdefault(rec, rec)


def _decode_library(
    ck: _Checker,
    block: Any,
    base: LibraryRecord | None,
    where: str,
    intern: dict[SymbolRecord, SymbolRecord],
) -> LibraryRecord:
    ck.obj(block, where, () if base else _LIB_KEYS, _LIB_KEYS + _LIB_OPTIONAL)
    given = block
    block = _meta_json(base) if base is not None else {}
    block.update(given)
    if "nodes" in block and ("nodes_added" in block or "nodes_removed" in block):
        raise ck.fail(where, "'nodes' cannot be combined with 'nodes_added'/'nodes_removed'")
    if "nodes" in block:
        nodes = _decode_nodes(ck, block["nodes"], f"{where}.nodes")
    else:
        nodes = list(base.nodes) if base is not None else []
    for i, gone in enumerate(ck.strings(block.get("nodes_removed", []), f"{where}.nodes_removed")):
        idx = next((k for k, n in enumerate(nodes) if n.name == gone), None)
        if idx is None:
            raise ck.fail(f"{where}.nodes_removed[{i}]", f"removes absent node {gone!r}")
        del nodes[idx]
    for n in _decode_nodes(ck, block.get("nodes_added", []), f"{where}.nodes_added"):
        nodes.append(n)
    unchanged = base is not None and not any(
        k in given for k in ("nodes", "nodes_added", "nodes_removed")
    )
    if not unchanged:
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ck.fail(where, f"node {dup!r} is defined twice")
    if base is not None and not given.get("symbols_added") and not given.get("symbols_removed"):
        # As in the parent: share its set (and its node list), so that unchanged releases
        # cost nothing to compare, index or encode again.
        ck.array(given.get("symbols_added", []), f"{where}.symbols_added")
        ck.array(given.get("symbols_removed", []), f"{where}.symbols_removed")
        return _library(ck, block, where, base.nodes if unchanged else tuple(nodes), base.symbols)

    symbols = set(base.symbols) if base is not None else set()
    for i, row in enumerate(ck.array(block.get("symbols_removed", []), f"{where}.symbols_removed")):
        w = f"{where}.symbols_removed[{i}]"
        rec = _decode_symbol(ck, row, w, intern)
        if rec not in symbols:
            raise ck.fail(w, f"removes {rec.name!r}, which the first parent does not have")
        symbols.remove(rec)
    for i, row in enumerate(ck.array(block.get("symbols_added", []), f"{where}.symbols_added")):
        w = f"{where}.symbols_added[{i}]"
        rec = _decode_symbol(ck, row, w, intern)
        if rec in symbols:
            raise ck.fail(w, f"adds {rec.name!r} twice")
        symbols.add(rec)
    return _library(ck, block, where, tuple(nodes), frozenset(symbols))


def _library(
    ck: _Checker,
    block: dict[str, Any],
    where: str,
    nodes: tuple[NodeRecord, ...],
    symbols: frozenset[SymbolRecord],
) -> LibraryRecord:
    private = []
    for i, p in enumerate(ck.array(block["private"], f"{where}.private")):
        w = f"{where}.private[{i}]"
        ck.obj(p, w, ("name", "symbols"))
        private.append(
            PrivateNode(ck.string(p["name"], f"{w}.name"), ck.integer(p["symbols"], f"{w}.symbols"))
        )
    elf_class = ck.integer(block["elf_class"], f"{where}.elf_class")
    if elf_class not in (32, 64):
        raise ck.fail(f"{where}.elf_class", f"expected 32 or 64, got {elf_class}")
    return LibraryRecord(
        soname=ck.string(block["soname"], f"{where}.soname", null=True),
        path=ck.string(block["path"], f"{where}.path"),
        sha256=ck.string(block["sha256"], f"{where}.sha256", null=True),
        machine=ck.string(block["machine"], f"{where}.machine"),
        elf_class=elf_class,
        byte_order=ck.string(block["byte_order"], f"{where}.byte_order"),
        needed=ck.strings(block["needed"], f"{where}.needed"),
        base_node=ck.string(block["base_node"], f"{where}.base_node", null=True),
        nodes=nodes,
        symbols=symbols,
        private=tuple(private),
    )
