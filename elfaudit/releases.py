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
import fcntl
import io
import json
import os
import random
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, NamedTuple

import networkx as nx  # noqa: TID251 - networkx lives here only

from elfaudit.errors import GraphError
from elfaudit.jsonio import dump_json, json_kind
from elfaudit.model.abi import DATA_TYPES, LibraryABI, Symbol, VersionDef
from elfaudit.model.script import VersionScript
from elfaudit.model.tags import VersionTag, release_key

FORMAT = "elfaudit-release-graph"
FORMAT_VERSION = 1
SYMBOL_FIELDS = ("name", "node", "default", "type", "binding", "visibility", "size")
MEMORY = "<release graph>"  # how messages name a graph that has no file yet

IsPrivate = Callable[[str], bool]


def default_is_private(node: str) -> bool:
    """The default private-node test: the name contains ``PRIVATE`` or ``INTERNAL``."""
    return "PRIVATE" in node or "INTERNAL" in node


# --------------------------------------------------------------------------- records


class SymbolRecord(NamedTuple):
    """One public symbol as stored (a row of ``symbol_fields``)."""

    name: str
    node: str | None
    default: bool
    type: str
    binding: str
    visibility: str
    size: int

    @classmethod
    def from_symbol(cls, sym: Symbol) -> SymbolRecord:
        # A function's st_size is its code length: it changes with every build and is no
        # part of the ABI, so only data objects keep theirs (else every release would
        # store every function again).
        size = sym.size if sym.type in DATA_TYPES else 0
        return cls(sym.name, sym.version, sym.default, sym.type, sym.binding, sym.visibility, size)

    def to_symbol(self) -> Symbol:
        return _to_symbol(self)

    def sort_key(self) -> tuple[str, str, bool, str, str, str, int]:
        return (
            self.name,
            self.node or "",
            not self.default,
            self.type,
            self.binding,
            self.visibility,
            self.size,
        )


@lru_cache(maxsize=1 << 16)
def _to_symbol(rec: SymbolRecord) -> Symbol:
    return Symbol(rec.name, rec.node, rec.default, rec.type, rec.binding, rec.visibility, rec.size)


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """A public version node: its name, parents (in verdaux order) and VER_FLG_WEAK."""

    name: str
    parents: tuple[str, ...] = ()
    weak: bool = False


@dataclass(frozen=True, slots=True)
class PrivateNode:
    """A private version node, summarised: its name and how many symbols it carried."""

    name: str
    symbols: int


@dataclass(frozen=True, slots=True)
class LibraryRecord:
    """What one release of one library offered, as stored in the graph.

    ``symbols`` and ``nodes`` are the *public* ones; private nodes are summarised in
    ``private``. ``base_node`` is the name of the BASE entry of ``.gnu.version_d`` (None
    when the library defines no versions).
    """

    soname: str | None
    path: str
    sha256: str | None
    machine: str
    elf_class: int
    byte_order: str
    needed: tuple[str, ...]
    base_node: str | None
    nodes: tuple[NodeRecord, ...]
    symbols: frozenset[SymbolRecord]
    private: tuple[PrivateNode, ...] = ()

    @property
    def name(self) -> str:
        """The key of this library in the graph: its SONAME, else its file name."""
        return self.soname or self.path.rsplit("/", 1)[-1]

    @classmethod
    def from_abi(cls, abi: LibraryABI, is_private: IsPrivate = default_is_private) -> LibraryRecord:
        """Keep the public part of ``abi``; count the symbols of private nodes."""
        private_names: dict[str, bool] = {}

        def private(node: str | None) -> bool:
            if node is None:
                return False
            if node not in private_names:
                private_names[node] = bool(is_private(node))
            return private_names[node]

        base = next((v.name for v in abi.versions if v.base), None)
        nodes = tuple(
            NodeRecord(v.name, tuple(v.parents), v.weak)
            for v in abi.versions
            if not v.base and not private(v.name)
        )
        counts: dict[str, int] = {v.name: 0 for v in abi.versions if not v.base and private(v.name)}
        public: set[SymbolRecord] = set()
        for sym in abi.symbols:
            if private(sym.version):
                assert sym.version is not None
                counts[sym.version] = counts.get(sym.version, 0) + 1
            else:
                public.add(SymbolRecord.from_symbol(sym))
        return cls(
            soname=abi.soname,
            path=abi.path,
            sha256=abi.sha256,
            machine=abi.machine,
            elf_class=abi.elf_class,
            byte_order=abi.byte_order,
            needed=tuple(abi.needed),
            base_node=base,
            nodes=nodes,
            symbols=frozenset(public),
            private=tuple(PrivateNode(n, c) for n, c in counts.items()),
        )

    def sorted_symbols(self) -> tuple[SymbolRecord, ...]:
        return tuple(sorted(self.symbols, key=SymbolRecord.sort_key))

    def symbol_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.symbols)

    def node_names(self) -> tuple[str, ...]:
        """Public node names, in version-definition order."""
        return tuple(n.name for n in self.nodes)

    def node_symbols(self) -> dict[str, frozenset[str]]:
        """Public node name -> names of the public symbols it carries (empty nodes included)."""
        out: dict[str, set[str]] = {n.name: set() for n in self.nodes}
        for s in self.symbols:
            if s.node is not None:
                out.setdefault(s.node, set()).add(s.name)
        return {k: frozenset(v) for k, v in out.items()}

    def to_abi(self) -> LibraryABI:
        """The stored ABI as model objects, for ``compare`` against a recorded release.

        What is not stored is absent: private symbols (their nodes appear as parentless
        ``VersionDef`` entries after the public ones, so node churn stays visible; use
        ``private`` for the counts), ABS version markers, version needs and imports. Version
        indices are renumbered (BASE = 1, then nodes in order); symbols come sorted by name.
        """
        versions: list[VersionDef] = []
        if self.base_node is not None:
            versions.append(VersionDef(self.base_node, 1, (), base=True))
        for n in self.nodes:
            versions.append(VersionDef(n.name, len(versions) + 1, n.parents, weak=n.weak))
        for p in self.private:
            versions.append(VersionDef(p.name, len(versions) + 1, ()))
        return LibraryABI(
            path=self.path,
            soname=self.soname,
            needed=self.needed,
            machine=self.machine,
            elf_class=self.elf_class,
            byte_order=self.byte_order,
            versions=tuple(versions),
            symbols=tuple(_to_symbol(s) for s in self.sorted_symbols()),
            sha256=self.sha256,
        )


@dataclass(frozen=True, slots=True)
class ReleaseRecord:
    """One recorded release: its place in the graph, provenance and libraries."""

    name: str
    parents: tuple[str, ...]
    recorded_at: str  # ISO-8601 UTC, e.g. 2025-01-31T12:00:00Z
    source: str | None  # what was recorded: a package file, a directory, a snapshot...
    note: str | None
    libraries: tuple[LibraryRecord, ...]  # sorted by name

    def library(self, name: str) -> LibraryRecord | None:
        for lib in self.libraries:
            if lib.name == name:
                return lib
        return None

    @property
    def library_names(self) -> tuple[str, ...]:
        return tuple(lib.name for lib in self.libraries)


@dataclass(frozen=True, slots=True)
class Introduction:
    """Where a public symbol first appears on one path of the graph."""

    release: str
    library: str
    symbol: str
    node: str | None


@dataclass(frozen=True, slots=True)
class NodeShipped:
    """A public version node and the earliest release(s) that shipped it.

    ``releases`` holds every release that shipped the node while none of its ancestors
    did (several when branches added it independently), in release order.
    """

    node: str
    parents: tuple[str, ...]
    releases: tuple[str, ...]

    @property
    def release(self) -> str:
        return self.releases[0]


@dataclass(frozen=True, slots=True)
class NodeOrigin:
    """What a node name says about when a symbol was introduced (no graph needed)."""

    symbol: str
    node: str
    release: str | None  # the numeric tail of the node name (LIBVIRT_3.1.0 -> 3.1.0)
    on_chain: bool  # whether the node is on the parent chain of the newest public node


# --------------------------------------------------------------------------- the graph


_NAME_BAD = re.compile(r"[\x00-\x1f\x7f]")
_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?Z$")


def _utc_stamp(when: datetime | None) -> str:
    if when is None:
        when = datetime.now(timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ReleaseGraph:
    """A DAG of releases and what each shipped. See the module docstring for the format."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path or MEMORY
        self._g: nx.DiGraph[str] = nx.DiGraph()
        self._releases: dict[str, ReleaseRecord] = {}
        self._intern: dict[SymbolRecord, SymbolRecord] = {}
        self._order: list[str] | None = None
        self._ancestor_cache: dict[str, frozenset[str]] = {}

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
    ) -> ReleaseRecord:
        """Record release ``name`` with its libraries, after ``parents`` (first = main parent).

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
        for rec in records:
            if rec.name in seen:
                raise GraphError(self.path, f"release {name!r}: two libraries named {rec.name!r}")
            seen.add(rec.name)
            libs.append(self._interned(rec))
        stamp = recorded_at if recorded_at is not None else _utc_stamp(None)
        if not _TIME_RE.match(stamp):
            raise GraphError(self.path, f"release {name!r}: recorded_at {stamp!r} is not UTC")
        release = ReleaseRecord(
            name, parents, stamp, source, note, tuple(sorted(libs, key=lambda r: r.name))
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

    def _interned(self, rec: LibraryRecord) -> LibraryRecord:
        table = self._intern
        return dataclasses.replace(
            rec, symbols=frozenset(table.setdefault(s, s) for s in rec.symbols)
        )

    def _changed(self) -> None:
        self._order = None
        self._ancestor_cache.clear()

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
                nodes = sorted({s.node for s in rec.symbols if s.name == symbol}, key=_node_key)
                out.extend(Introduction(r, lib, symbol, n) for n in nodes)
        idx = self._index()
        out.sort(key=lambda i: (idx[i.release], i.library, _node_key(i.node)))
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

    def released_nodes(self, soname: str, releases: Iterable[str]) -> dict[str, frozenset[str]]:
        """Public node -> symbol names it carried, over ``releases`` (e.g. the ancestors).

        A node absent from the result had not shipped in any of them; a symbol found in a
        new release under a node listed here, but missing from its set, was added to an
        already-released node.
        """
        out: dict[str, set[str]] = {}
        for r in releases:
            rec = self._need(r).library(soname)
            if rec is None:
                continue
            for node, syms in rec.node_symbols().items():
                out.setdefault(node, set()).update(syms)
        return {k: frozenset(v) for k, v in out.items()}

    # ------------------------------------------------------------------ JSON

    def to_json(self) -> dict[str, Any]:
        """The document :meth:`save` writes (deltas against each release's first parent)."""
        releases: dict[str, Any] = {}
        libraries: dict[str, dict[str, Any]] = {}
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
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "libraries": libraries,
            "releases": releases,
            "symbol_fields": list(SYMBOL_FIELDS),
        }

    def dumps(self) -> str:
        """The exact text :meth:`save` writes."""
        return dump_json(self.to_json())

    @classmethod
    def from_json(cls, doc: Any, path: str = MEMORY) -> ReleaseGraph:
        """Build a graph from a parsed document; any problem is a :class:`GraphError`."""
        try:
            return _decode(doc, path)
        except GraphError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise _corrupt(path, f"{type(exc).__name__}: {exc}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, missing_ok: bool = False) -> ReleaseGraph:
        """Read a graph file. A missing file is an empty graph only with ``missing_ok``."""
        p = os.fspath(path)
        try:
            with open(p, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            if missing_ok:
                return cls(p)
            raise GraphError(p, "no such release graph") from None
        except IsADirectoryError:
            raise GraphError(p, "is a directory, not a release graph") from None
        except OSError as exc:
            raise GraphError(p, f"cannot read: {exc.strerror or exc}") from None
        try:
            doc = json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
        except UnicodeDecodeError:
            raise _corrupt(p, "not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise _corrupt(p, f"invalid JSON at line {exc.lineno}: {exc.msg}") from None
        except _DuplicateKey as exc:
            raise _corrupt(p, f"key {exc.args[0]!r} appears twice in one object") from None
        except (ValueError, RecursionError):
            raise _corrupt(p, "invalid JSON") from None
        return cls.from_json(doc, p)

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Write the graph atomically (temp file in the same directory, fsync, replace).

        Not locked by itself: concurrent writers must go through :meth:`edit`.
        """
        p = os.fspath(path) if path is not None else self.path
        if p == MEMORY:
            raise GraphError(p, "no file to save the release graph to")
        atomic_write(p, self.dumps().encode("utf-8"))
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
        with file_lock(p + ".lock"):
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


# --------------------------------------------------------------------------- node chains


def _node_key(node: str | None) -> tuple[VersionTag, str]:
    n = node or ""
    return (VersionTag.parse(n), n)


def _nodes_of(abi: LibraryABI | VersionScript) -> list[tuple[str, tuple[str, ...]]]:
    if isinstance(abi, VersionScript):
        return [(n.name, tuple(n.parents)) for n in abi.nodes if n.name is not None]
    return [(v.name, tuple(v.parents)) for v in abi.versions if not v.base]


def node_chain(
    abi: LibraryABI | VersionScript, is_private: IsPrivate = default_is_private
) -> list[str]:
    """The public version nodes on the parent chain of the newest one, oldest first.

    Works on a binary or a version script alone. The newest node is the public node no
    other public node names as parent with the longest chain (ties: highest VersionTag).
    The walk follows first parents and stops at a private or unknown parent or a loop.
    """
    nodes = [(n, ps) for n, ps in _nodes_of(abi) if not is_private(n)]
    parents = dict(nodes)
    referenced = {p for _, ps in nodes for p in ps}

    def walk(head: str) -> list[str]:
        chain = [head]
        seen = {head}
        cur = head
        while parents.get(cur) and len(chain) <= len(parents):
            nxt = parents[cur][0]
            if nxt not in parents or nxt in seen:
                break
            chain.append(nxt)
            seen.add(nxt)
            cur = nxt
        return chain

    heads = [n for n, _ in nodes if n not in referenced]
    if not heads:
        return []
    chains = [walk(h) for h in heads]
    best = max(chains, key=lambda c: (len(c), _node_key(c[0])))
    return best[::-1]


def introduced_by_nodes(
    abi: LibraryABI | VersionScript, is_private: IsPrivate = default_is_private
) -> list[NodeOrigin]:
    """What the node names say about when each public versioned symbol was introduced.

    ``LIBVIRT_3.1.0`` -> release ``3.1.0`` (the numeric tail, via VersionTag); None for a
    node without one. Symbols of nodes on :func:`node_chain` come first in chain order,
    then other public nodes by VersionTag; within a node, by symbol name. Scripts
    contribute their non-wildcard ``global:`` entries.
    """
    chain = node_chain(abi, is_private)
    position = {n: i for i, n in enumerate(chain)}
    by_node: dict[str, set[str]] = {}
    if isinstance(abi, VersionScript):
        for sn in abi.nodes:
            if sn.name is None or is_private(sn.name):
                continue
            by_node.setdefault(sn.name, set()).update(
                e.pattern for e in sn.globals if not e.is_wildcard
            )
    else:
        for sym in abi.symbols:
            if sym.version is not None and not is_private(sym.version):
                by_node.setdefault(sym.version, set()).add(sym.name)
    out: list[NodeOrigin] = []
    order = sorted(by_node, key=lambda n: (n not in position, position.get(n, 0), _node_key(n)))
    for node in order:
        nums = VersionTag.parse(node).numbers
        rel = ".".join(str(x) for x in nums) if nums else None
        out.extend(NodeOrigin(s, node, rel, node in position) for s in sorted(by_node[node]))
    return out


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
        added = lib.symbols - base.symbols
        removed = base.symbols - lib.symbols
    if added:
        block["symbols_added"] = [list(s) for s in sorted(added, key=SymbolRecord.sort_key)]
    if removed:
        block["symbols_removed"] = [list(s) for s in sorted(removed, key=SymbolRecord.sort_key)]
    return block


_SCALARS = (str, int, float, bool, type(None))


# --------------------------------------------------------------------------- decoding


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


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


def _decode(doc: Any, path: str) -> ReleaseGraph:
    ck = _Checker(path)
    ck.obj(doc, "", ("format", "format_version", "libraries", "releases", "symbol_fields"))
    if doc["format"] != FORMAT:
        raise ck.fail("format", f"expected {FORMAT!r}, got {json_kind(doc['format'])}")
    if doc["format_version"] != FORMAT_VERSION or isinstance(doc["format_version"], bool):
        raise ck.fail(
            "format_version", f"unsupported version {json_kind(doc['format_version'])} (expected 1)"
        )
    if doc["symbol_fields"] != list(SYMBOL_FIELDS):
        raise ck.fail("symbol_fields", f"expected {list(SYMBOL_FIELDS)}")
    rels = ck.mapping(doc["releases"], "releases")
    libs = ck.mapping(doc["libraries"], "libraries")

    headers: dict[str, tuple[tuple[str, ...], str, str | None, str | None]] = {}
    dag: nx.DiGraph[str] = nx.DiGraph()
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
        dag.add_node(name)
    for name, (parents, *_rest) in headers.items():
        for p in parents:
            if p not in headers:
                raise ck.fail(f"releases[{name!r}]", f"unknown parent {p!r}")
            if p == name:
                raise ck.fail(f"releases[{name!r}]", "a release cannot follow itself")
            dag.add_edge(p, name)
    try:
        order = list(nx.lexicographical_topological_sort(dag, key=release_key))
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(dag)
        loop = " -> ".join([a for a, _ in cycle] + [cycle[0][0]])
        raise ck.fail("releases", f"cycle {loop}") from None

    blocks: dict[str, dict[str, Any]] = {}
    for lib_name, per_release in libs.items():
        ck.mapping(per_release, f"libraries[{lib_name!r}]")
        for rname, block in per_release.items():
            if rname not in headers:
                raise ck.fail(f"libraries[{lib_name!r}]", f"block for unknown release {rname!r}")
            blocks.setdefault(rname, {})[lib_name] = block

    graph = ReleaseGraph(path)
    intern = graph._intern
    for name in order:
        parents, stamp, source, note = headers[name]
        first = graph._releases[parents[0]] if parents else None
        records = []
        for lib_name, block in sorted(blocks.get(name, {}).items()):
            base = first.library(lib_name) if first is not None else None
            where = f"libraries[{lib_name!r}][{name!r}]"
            rec = _decode_library(ck, block, base, where, intern)
            if rec.name != lib_name:
                raise ck.fail(where, f"library is named {rec.name!r}, not {lib_name!r}")
            records.append(rec)
        graph._releases[name] = ReleaseRecord(name, parents, stamp, source, note, tuple(records))
    graph._g = dag
    graph._changed()
    return graph


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
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ck.fail(where, f"node {dup!r} is defined twice")

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
        nodes=tuple(nodes),
        symbols=frozenset(symbols),
        private=tuple(private),
    )


# --------------------------------------------------------------------------- files


def atomic_write(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; on any failure the old file is untouched.

    The new file keeps the old one's permission bits (or gets 0666 & ~umask).
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    except OSError as exc:
        raise GraphError(path, f"cannot write: {exc.strerror or exc}") from None
    base = os.path.basename(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise GraphError(path, f"cannot write: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise GraphError(path, f"cannot write: {exc.strerror or exc}") from None
        raise
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


@contextlib.contextmanager
def file_lock(lock_path: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (created if needed) for the block."""
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise GraphError(lock_path, f"cannot lock: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _dot_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


# --------------------------------------------------------------------------- synthetic data


def _synthetic_lib(
    soname: str,
    path: str,
    chain: list[tuple[str, list[str]]],
    private: str | None,
    private_count: int,
    needed: tuple[str, ...] = (),
) -> LibraryABI:
    versions = [VersionDef(soname, 1, (), base=True)]
    prev: str | None = None
    for node, _ in chain:
        versions.append(VersionDef(node, len(versions) + 1, (prev,) if prev else ()))
        prev = node
    syms = [
        Symbol(name, node, True, "FUNC", "GLOBAL", "DEFAULT", 0)
        for node, names in chain
        for name in names
    ]
    if private is not None:
        versions.append(VersionDef(private, len(versions) + 1, ()))
        syms.extend(
            Symbol(f"vir_private_{i}", private, True, "FUNC", "GLOBAL", "DEFAULT", 0)
            for i in range(private_count)
        )
    return LibraryABI(
        path=path,
        soname=soname,
        needed=needed,
        machine="x86_64",
        elf_class=64,
        byte_order="little",
        versions=tuple(versions),
        symbols=tuple(syms),
        sha256=f"{random.Random(path + str(len(syms))).getrandbits(256):064x}",
    )


def synthetic_graph(
    releases: int = 200,
    *,
    seed: int = 0,
    private_symbols: int = 50,
    branch_every: int = 12,
    branch_length: int = 3,
) -> ReleaseGraph:
    """A libvirt-shaped graph for benchmarks, tests and demos (deterministic per ``seed``).

    A main line ``M.m.0`` (ten minor releases per major) along which libvirt.so.0 grows
    from 280 to 520 public symbols (a new ``LIBVIRT_<release>`` node when a release adds
    API) and libvirt-qemu, libvirt-lxc and libvirt-admin grow a little; after every
    ``branch_every``-th main release a maintenance branch of ``branch_length`` point
    releases (same API, new private node). Exactly ``releases`` releases are recorded.
    """
    rng = random.Random(seed)
    n_branches = max(0, (releases - 1) // (branch_every + branch_length))
    n_main = releases - n_branches * branch_length
    span = max(1, n_main - 1)
    libs: dict[str, tuple[str, str | None, int, int]] = {
        # soname: (node prefix, private prefix, symbols at start, symbols at end)
        "libvirt.so.0": ("LIBVIRT_", "LIBVIRT_PRIVATE_", 280, 520),
        "libvirt-qemu.so.0": ("LIBVIRT_QEMU_", None, 1, 8),
        "libvirt-lxc.so.0": ("LIBVIRT_LXC_", None, 1, 5),
        "libvirt-admin.so.0": ("LIBVIRT_ADMIN_", "LIBVIRT_ADMIN_PRIVATE_", 20, 34),
    }
    chains = {
        so: [(f"{prefix}0.1.0", [f"{so.split('.')[0]}_base{k}" for k in range(start)])]
        for so, (prefix, _, start, _) in libs.items()
    }
    stamp = datetime(2024, 1, 1, tzinfo=timezone.utc)
    graph = ReleaseGraph()

    def record(release: str, parent: str | None) -> None:
        abis = [
            _synthetic_lib(
                so,
                f"usr/lib/x86_64-linux-gnu/{so}",
                chains[so],
                f"{libs[so][1]}{release}" if libs[so][1] else None,
                private_symbols,
                () if so == "libvirt.so.0" else ("libvirt.so.0",),
            )
            for so in libs
        ]
        graph.add_release(
            release,
            abis,
            [parent] if parent else [],
            source=f"synthetic/{release}",
            recorded_at=stamp,
        )

    prev: str | None = None
    for i in range(n_main):
        release = f"{1 + i // 10}.{i % 10}.0"
        for so, (prefix, _, start, end) in libs.items():
            have = sum(len(names) for _, names in chains[so])
            due = start + round((end - start) * i / span) - have
            if i and due > 0 and (rng.random() < 0.7 or i == n_main - 1):
                names = [f"{so.split('.')[0]}_api{i}_{k}" for k in range(due)]
                chains[so].append((f"{prefix}{release}", names))
        record(release, prev)
        prev = release
        if i and i % branch_every == 0 and i // branch_every <= n_branches:
            parent = release
            for k in range(1, branch_length + 1):
                point = f"{1 + i // 10}.{i % 10}.{k}"
                record(point, parent)
                parent = point
    return graph
