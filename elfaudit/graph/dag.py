"""The release graph: which releases exist, how they follow each other, what each shipped.

A :class:`ReleaseGraph` is a DAG (a ``networkx.DiGraph``; this is the only module importing
networkx) with one node per recorded release (``9.0.0``, ``11.3.0``,
``debian/11.3.0-2~bpo12+1``) and an edge from each release to the releases that follow it.
Branches are real: ``11.3.0 -> 11.3.1`` on a maintenance branch and ``11.3.0 -> 12.0.0`` on
the main line. The graph refuses cycles, unknown parents and duplicate names.

Each release stores, per library (keyed by SONAME, or by file name for a library without one),
a :class:`LibraryRecord`: the public ABI (soname, machine, ELF class, byte order, DT_NEEDED,
the public version nodes with their parents, the public symbols with node, default flag,
type, binding, visibility and size), the private nodes *summarised* (name and symbol count,
no symbol list), and where it came from (path, sha256). Which nodes are private is the
caller's decision: ``add_release`` takes an ``is_private(node_name) -> bool`` predicate (a
profile's ``is_private``); the default treats names containing ``PRIVATE`` or ``INTERNAL`` as
private. Unversioned symbols are public.

Storage format
--------------
One JSON file, written deterministically (sorted keys, two-space indent, one record per line,
trailing newline) so that ``git diff`` shows what a recording changed::

    {
      "format": "elfaudit-release-graph",
      "format_version": 1,
      "libraries": {"<soname>": {"<release>": <library block>, ...}, ...},
      "releases": {"<release>": {"note", "parents", "recorded_at", "source"}, ...},
      "symbol_fields": ["name", "node", "default", "type", "binding", "visibility", "size"]
    }

A library block is a **delta against the same library in the release's first parent**:
metadata keys (``soname``, ``path``, ``sha256``, ``machine``, ``elf_class``,
``byte_order``, ``needed``, ``base_node``, ``private``) appear only when they differ from
the parent's; symbols as ``symbols_added`` / ``symbols_removed`` rows in ``symbol_fields``
order; nodes as ``nodes_added`` records / ``nodes_removed`` names (a changed record is one
removal plus one addition). A library with no counterpart in the first parent is stored
whole (every key, everything "added", nodes under ``nodes``); so is a node list whose order
a delta cannot express. Empty lists are omitted; ``{}`` means "as in the parent".

A release recorded from a whole package set (``graph record DIR``: a directory of one
release's packages or an unpacked root tree) also stores, per section of libvirt's support
page, its facts (:data:`elfaudit.model.guarantees.SectionFacts`: item -> JSON value, e.g.
``"procedure remote 1 23": "domain_get_info"``), under a top-level ``"sections"`` key,
``{"<section>": {"<release>": <facts block>}}``, which makes the file ``format_version`` 2
(a graph without section facts stays version 1, readable by every elfaudit). A facts block
is again a delta against the first parent's facts of that section, item by item:
``{"changed": {item: value}, "removed": [item]}``, or ``{"items": {...}}`` whole when the
first parent has none. A release without a block for a section did not record it.

Why deltas rather than per-symbol presence lists: releases rarely change the public API,
so deltas keep the file proportional to the number of *changes*, loading is one pass in
topological order (copy the parent's set, apply the delta), and recording a release only
*adds* a block, where presence lists or intervals would touch a line per surviving symbol
on every recording. Measured on :func:`synthetic_graph` (200 releases, 4 libraries,
libvirt.so.0 growing to 520 public symbols, 13 branches): 5,062 lines (168 kB) holding 567
symbol rows, where listing each release's symbols would take 87,008; loading takes ~40 ms
and ~5 MB. The in-memory graph keeps every release's full symbol set (records are
interned, so releases share them) and deltas are recomputed on save, so replacing a
release in the middle of history needs no special care.

Loading validates everything (types, unknown keys, references to releases and parents,
acyclicity, deltas that remove what the parent did not have); any problem is a
:class:`GraphError` ``"<path>: corrupt release graph: <what>"``. Writes are atomic (a temp
file in the same directory, fsync, ``os.replace``) and :meth:`ReleaseGraph.edit` holds an
exclusive ``flock`` on the sidecar ``<path>.lock`` across load-modify-save.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import networkx as nx  # noqa: TID251 - networkx lives here only

from elfaudit.base.errors import GraphError
from elfaudit.base.fileio import MISSING, atomic_write, file_lock, read_json
from elfaudit.base.jsonio import dump_json
from elfaudit.graph.codec import (
    _corrupt,
    _encode_library,
    decode_releases,
    encode_facts,
)
from elfaudit.graph.records import (
    _NAME_BAD,
    _TIME_RE,
    FORMAT,
    FORMAT_VERSION,
    FORMAT_VERSION_SECTIONS,
    MEMORY,
    SYMBOL_FIELDS,
    Introduction,
    IsPrivate,
    LibraryRecord,
    NodeRecord,
    NodeShipped,
    ReleaseRecord,
    SymbolRecord,
    _utc_stamp,
    default_is_private,
)
from elfaudit.model.abi import LibraryABI
from elfaudit.model.tags import VersionTag, node_key, release_key


class ReleaseGraph:
    """A DAG of releases and what each shipped. See the module docstring for the format."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or MEMORY
        self._g: nx.DiGraph[str] = nx.DiGraph()
        self._releases: dict[str, ReleaseRecord] = {}
        self._intern: dict[SymbolRecord, SymbolRecord] = {}
        self._order: list[str] | None = None
        self._ancestor_cache: dict[str, frozenset[str]] = {}
        # (id(symbols), id(nodes)) -> (symbols, nodes, node -> names): records that share
        # their parent's symbol set and node list (see _interned) share this map too.
        self._node_symbols: dict[
            tuple[int, int],
            tuple[frozenset[SymbolRecord], tuple[NodeRecord, ...], dict[str, frozenset[str]]],
        ] = {}

    # ------------------------------------------------------------------ mutation

    def add_release(
        self,
        name: str,
        libs: Sequence[LibraryABI],
        parents: Sequence[str] = (),
        *,
        source: str | None = None,
        note: str | None = None,
        recorded_at: datetime | None = None,
        is_private: IsPrivate = default_is_private,
        replace: bool = False,
        sections: Mapping[str, Mapping[str, object]] | None = None,
    ) -> ReleaseRecord:
        """Record release ``name`` with its libraries, after ``parents`` (first = main parent),
        and, from a whole package set, each section's facts (section -> item -> JSON value).

        ``recorded_at`` defaults to now (UTC); naive datetimes are taken as UTC.
        ``replace=True`` overwrites a recorded release of that name (its children stay).
        Raises :class:`GraphError` for a duplicate name, an unknown parent, a cycle or two
        libraries with the same SONAME.
        """
        records = [LibraryRecord.from_abi(abi, is_private) for abi in libs]
        return self.add_records(
            name,
            records,
            parents,
            source=source,
            note=note,
            recorded_at=_utc_stamp(recorded_at),
            replace=replace,
            sections=sections,
        )

    def add_records(
        self,
        name: str,
        records: Sequence[LibraryRecord],
        parents: Sequence[str] = (),
        *,
        source: str | None = None,
        note: str | None = None,
        recorded_at: str | None = None,
        replace: bool = False,
        sections: Mapping[str, Mapping[str, object]] | None = None,
    ) -> ReleaseRecord:
        """Like :meth:`add_release`, from already-built :class:`LibraryRecord` objects."""
        self._check_name(name)
        parents = tuple(parents)
        if name in self._releases and not replace:
            raise GraphError(
                self.path, f"release {name!r} is already recorded (replace it explicitly)"
            )
        for p in parents:
            if not isinstance(p, str):
                raise GraphError(self.path, f"release {name!r}: parent {p!r} is not a name")
            if p == name:
                raise GraphError(self.path, f"release {name!r} cannot follow itself")
            if p not in self._releases:
                raise GraphError(self.path, f"release {name!r}: unknown parent {p!r}")
        if len(set(parents)) != len(parents):
            raise GraphError(self.path, f"release {name!r}: a parent is listed twice")
        if name in self._releases:
            below = nx.descendants(self._g, name)
            loop = [p for p in parents if p in below]
            if loop:
                raise GraphError(
                    self.path,
                    f"release {name!r} cannot follow {loop[0]!r}: {loop[0]!r} follows it (cycle)",
                )
        seen: set[str] = set()
        libs: list[LibraryRecord] = []
        first = self._releases[parents[0]] if parents else None
        for rec in records:
            if rec.name in seen:
                raise GraphError(self.path, f"release {name!r}: two libraries named {rec.name!r}")
            seen.add(rec.name)
            libs.append(self._interned(rec, first.library(rec.name) if first else None))
        stamp = recorded_at if recorded_at is not None else _utc_stamp(None)
        if not _TIME_RE.match(stamp):
            raise GraphError(self.path, f"release {name!r}: recorded_at {stamp!r} is not UTC")
        facts: dict[str, dict[str, object]] = {}
        for section, items in sorted((sections or {}).items()):
            if not isinstance(section, str) or not section or _NAME_BAD.search(section):
                raise GraphError(self.path, f"release {name!r}: invalid section {section!r}")
            if any(not isinstance(k, str) or not k for k in items):
                raise GraphError(self.path, f"release {name!r}: section {section}: bad item key")
            facts[section] = {k: items[k] for k in sorted(items)}
        release = ReleaseRecord(
            name,
            parents,
            stamp,
            source,
            note,
            tuple(sorted(libs, key=lambda r: r.name)),
            facts,
        )
        if name in self._releases:
            self._g.remove_edges_from(list(self._g.in_edges(name)))
        else:
            self._g.add_node(name)
        self._g.add_edges_from((p, name) for p in parents)
        self._releases[name] = release
        self._changed()
        return release

    def remove_release(self, name: str) -> None:
        """Forget a release that no other release follows."""
        self._need(name)
        kids = self.children(name)
        if kids:
            raise GraphError(
                self.path, f"release {name!r} cannot be removed: {', '.join(kids)} follow it"
            )
        self._g.remove_node(name)
        del self._releases[name]
        self._changed()

    def _check_name(self, name: object) -> None:
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise GraphError(self.path, f"invalid release name {name!r}")
        if _NAME_BAD.search(name):
            raise GraphError(self.path, f"invalid release name {name!r} (control character)")

    def _interned(self, rec: LibraryRecord, base: LibraryRecord | None) -> LibraryRecord:
        """``rec`` with its symbols interned, sharing the first parent's symbol set and node
        list when they are equal (what the decoder does too), so that unchanged releases
        cost nothing to compare or index."""
        if base is not None and rec.symbols == base.symbols:
            symbols = base.symbols
        else:
            table = self._intern
            symbols = frozenset(table.setdefault(s, s) for s in rec.symbols)
        nodes = base.nodes if base is not None and rec.nodes == base.nodes else rec.nodes
        return dataclasses.replace(rec, symbols=symbols, nodes=nodes)

    def _changed(self) -> None:
        self._order = None
        self._ancestor_cache.clear()
        self._node_symbols.clear()

    def _need(self, name: str) -> ReleaseRecord:
        try:
            return self._releases[name]
        except (KeyError, TypeError):
            raise GraphError(self.path, f"no release {name!r} in the graph") from None

    # ------------------------------------------------------------------ queries

    def __len__(self) -> int:
        return len(self._releases)

    def __contains__(self, name: object) -> bool:
        return name in self._releases

    def releases(self) -> list[str]:
        """All releases in topological order, ties broken by numeric release order."""
        if self._order is None:
            self._order = list(nx.lexicographical_topological_sort(self._g, key=release_key))
        return list(self._order)

    def _index(self) -> dict[str, int]:
        return {r: i for i, r in enumerate(self.releases())}

    def release(self, name: str) -> ReleaseRecord:
        return self._need(name)

    def parents(self, name: str) -> list[str]:
        """The releases ``name`` directly follows (first = main parent)."""
        return list(self._need(name).parents)

    def children(self, name: str) -> list[str]:
        """The releases that directly follow ``name``, in release order."""
        self._need(name)
        return sorted(self._g.successors(name), key=release_key)

    def ancestor_set(self, name: str) -> frozenset[str]:
        self._need(name)
        got = self._ancestor_cache.get(name)
        if got is None:
            got = frozenset(nx.ancestors(self._g, name))
            self._ancestor_cache[name] = got
        return got

    def ancestors(self, name: str) -> list[str]:
        """Every release before ``name`` on any path (not only parents), in release order.

        A release on a sibling branch is not an ancestor.
        """
        anc = self.ancestor_set(name)
        return [r for r in self.releases() if r in anc]

    def descendants(self, name: str) -> list[str]:
        self._need(name)
        below = nx.descendants(self._g, name)
        return [r for r in self.releases() if r in below]

    def heads(self) -> list[str]:
        """Releases nothing follows yet (the tips of the main line and of each branch)."""
        return [r for r in self.releases() if self._g.out_degree(r) == 0]

    def record(self, release: str, soname: str) -> LibraryRecord | None:
        return self._need(release).library(soname)

    def library(self, release: str, soname: str) -> LibraryABI | None:
        """The stored ABI of ``soname`` in ``release`` (see :meth:`LibraryRecord.to_abi`)."""
        rec = self.record(release, soname)
        return None if rec is None else rec.to_abi()

    def library_names(self) -> list[str]:
        return sorted({lib.name for r in self._releases.values() for lib in r.libraries})

    def _minimal(self, have: set[str]) -> list[str]:
        """Members of ``have`` with no ancestor in ``have``, in release order."""
        return [r for r in self.releases() if r in have and not (self.ancestor_set(r) & have)]

    def introduced(self, symbol: str, soname: str | None = None) -> list[Introduction]:
        """Where public ``symbol`` first appears: on each path, the earliest release having it.

        One entry per (release, library, node); several releases when branches added it
        independently. A symbol removed and re-added later is reported at its first
        appearance only.
        """
        out: list[Introduction] = []
        names = [soname] if soname is not None else self.library_names()
        for lib in names:
            have = {
                r
                for r, rel in self._releases.items()
                if (rec := rel.library(lib)) is not None
                and any(s.name == symbol for s in rec.symbols)
            }
            for r in self._minimal(have):
                rec = self._releases[r].library(lib)
                assert rec is not None
                nodes = sorted({s.node for s in rec.symbols if s.name == symbol}, key=node_key)
                out.extend(Introduction(r, lib, symbol, n) for n in nodes)
        idx = self._index()
        out.sort(key=lambda i: (idx[i.release], i.library, node_key(i.node)))
        return out

    def node_history(self, soname: str) -> list[NodeShipped]:
        """The public version nodes of ``soname`` in the order releases first shipped them."""
        shipped: dict[str, set[str]] = {}
        for r, rel in self._releases.items():
            rec = rel.library(soname)
            if rec is not None:
                for n in rec.nodes:
                    shipped.setdefault(n.name, set()).add(r)
        idx = self._index()
        out: list[NodeShipped] = []
        for node, have in shipped.items():
            first = self._minimal(have)
            rec = self._releases[first[0]].library(soname)
            assert rec is not None
            parents = next(n.parents for n in rec.nodes if n.name == node)
            out.append(NodeShipped(node, parents, tuple(first)))
        out.sort(key=lambda n: (idx[n.release], VersionTag.parse(n.node), n.node))
        return out

    def node_symbols(self, release: str, soname: str) -> dict[str, frozenset[str]] | None:
        """Public node -> names of the symbols ``soname`` carried in it in ``release`` (None
        when the release has no such library). Computed once per distinct symbol set and
        node list, and shared: releases that changed nothing return the same object, do
        not modify it."""
        rec = self._need(release).library(soname)
        if rec is None:
            return None
        key = (id(rec.symbols), id(rec.nodes))
        got = self._node_symbols.get(key)
        if got is None:
            got = (rec.symbols, rec.nodes, rec.node_symbols())
            self._node_symbols[key] = got
        return got[2]

    def released_nodes(self, soname: str, releases: Iterable[str]) -> dict[str, frozenset[str]]:
        """Public node -> symbol names it carried, over ``releases`` (e.g. the ancestors).

        A node absent from the result had not shipped in any of them; a symbol found in a
        new release under a node listed here, but missing from its set, was added to an
        already-released node.
        """
        out: dict[str, set[str]] = {}
        done: set[int] = set()
        for r in releases:
            per_node = self.node_symbols(r, soname)
            if per_node is None or id(per_node) in done:
                continue
            done.add(id(per_node))
            for node, syms in per_node.items():
                out.setdefault(node, set()).update(syms)
        return {k: frozenset(v) for k, v in out.items()}

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """The document :meth:`save` writes (deltas against each release's first parent)."""
        releases: dict[str, Any] = {}
        libraries: dict[str, dict[str, Any]] = {}
        sections: dict[str, dict[str, Any]] = {}
        for name in self.releases():
            rel = self._releases[name]
            releases[name] = {
                "note": rel.note,
                "parents": list(rel.parents),
                "recorded_at": rel.recorded_at,
                "source": rel.source,
            }
            first = self._releases[rel.parents[0]] if rel.parents else None
            for lib in rel.libraries:
                base = first.library(lib.name) if first is not None else None
                libraries.setdefault(lib.name, {})[name] = _encode_library(lib, base)
            for section, facts in rel.sections.items():
                parent_facts = first.sections.get(section) if first is not None else None
                sections.setdefault(section, {})[name] = encode_facts(facts, parent_facts)
        doc: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION_SECTIONS if sections else FORMAT_VERSION,
            "libraries": libraries,
            "releases": releases,
            "symbol_fields": list(SYMBOL_FIELDS),
        }
        if sections:
            doc["sections"] = sections
        return doc

    @classmethod
    def _from_records(cls, path: str, doc: Any) -> ReleaseGraph:
        graph = cls(path)
        for rel in decode_releases(doc, path, graph._intern):
            graph._releases[rel.name] = rel
            graph._g.add_node(rel.name)
            graph._g.add_edges_from((p, rel.name) for p in rel.parents)
        graph._changed()
        return graph

    def dumps(self) -> str:
        """The exact text :meth:`save` writes."""
        return dump_json(self.to_json())

    @classmethod
    def from_json(cls, doc: Any, path: str = MEMORY) -> ReleaseGraph:
        """Build a graph from a parsed document; any problem is a :class:`GraphError`."""
        try:
            return cls._from_records(path, doc)
        except GraphError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise _corrupt(path, f"{type(exc).__name__}: {exc}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, missing_ok: bool = False) -> ReleaseGraph:
        """Read a graph file. A missing file is an empty graph only with ``missing_ok``."""
        p = os.fspath(path)
        doc = read_json(p, error=GraphError, unique_keys=True, missing_ok=missing_ok)
        if doc is MISSING:
            return cls(p)
        return cls.from_json(doc, p)

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the graph atomically (temp file in the same directory, fsync, replace).

        Not locked by itself: concurrent writers must go through :meth:`edit`.
        """
        p = os.fspath(path) if path is not None else self.path
        if p == MEMORY:
            raise GraphError(p, "no file to save the release graph to")
        atomic_write(p, self.dumps(), error=GraphError)
        self.path = p

    @classmethod
    @contextlib.contextmanager
    def edit(
        cls, path: str | os.PathLike[str], *, missing_ok: bool = True
    ) -> Iterator[ReleaseGraph]:
        """Lock ``<path>.lock``, load (an absent file is an empty graph), yield, then save.

        Saves only when the block exits without an exception; the lock is held across
        load-modify-save, so concurrent recorders serialise instead of losing updates.
        The lock file is left in place (removing it would race with waiting writers).
        """
        p = os.fspath(path)
        with file_lock(p + ".lock", error=GraphError):
            graph = cls.load(p, missing_ok=missing_ok)
            yield graph
            graph.save(p)

    # ------------------------------------------------------------------ export

    def to_dot(self) -> str:
        """Graphviz DOT text: releases left to right, public symbol counts in labels."""
        lines = [
            "digraph releases {",
            "  rankdir=LR;",
            '  node [shape=box, style=rounded, fontname="Helvetica"];',
        ]
        for name in self.releases():
            rel = self._releases[name]
            counts = "".join(f"\\n{lib.name}: {len(lib.symbols)}" for lib in rel.libraries)
            lines.append(f'  "{_dot_escape(name)}" [label="{_dot_escape(name)}{counts}"];')
        lines.extend(
            f'  "{_dot_escape(name)}" -> "{_dot_escape(child)}";'
            for name in self.releases()
            for child in self.children(name)
        )
        lines.append("}")
        return "\n".join(lines) + "\n"

    def to_graphml(self) -> str:
        """GraphML (networkx's writer): one node per release with scalar attributes."""
        export: nx.DiGraph[str] = nx.DiGraph()
        for name in self.releases():
            rel = self._releases[name]
            attrs: dict[str, str | int] = {"recorded_at": rel.recorded_at}
            if rel.source is not None:
                attrs["source"] = rel.source
            if rel.note is not None:
                attrs["note"] = rel.note
            for lib in rel.libraries:
                attrs[f"symbols:{lib.name}"] = len(lib.symbols)
                attrs[f"nodes:{lib.name}"] = len(lib.nodes)
            export.add_node(name, **attrs)
        for a, b in self._g.edges():
            export.add_edge(a, b)
        buf = io.BytesIO()
        nx.write_graphml(export, buf, encoding="utf-8")
        return buf.getvalue().decode("utf-8")


def _dot_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')
