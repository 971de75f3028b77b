"""What the release graph stores per release: library, node and symbol records.

A :class:`LibraryRecord` is the public ABI of one library in one release (soname, machine,
ELF class, byte order, DT_NEEDED, public nodes with parents, public symbols) with its
private nodes summarised; a :class:`ReleaseRecord` is one release's header, libraries and,
when it was recorded from a whole package set, each section's facts (what the sections of
libvirt's support page judge: schemas, configuration files, RPC protocol, virsh...).
Frozen, so releases share identical records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import NamedTuple

from elfaudit.model.abi import DATA_TYPES, LibraryABI, Symbol, VersionDef

FORMAT = "elfaudit-release-graph"
FORMAT_VERSION = 1  # a graph without section facts (what every elfaudit reads)
FORMAT_VERSION_SECTIONS = 2  # a graph holding section facts (the ``sections`` key)
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

    def to_abi(self, only: frozenset[str] | None = None) -> LibraryABI:
        """The stored ABI as model objects, for ``compare`` against a recorded release.

        What is not stored is absent: private symbols (their nodes appear as parentless
        ``VersionDef`` entries after the public ones, so node churn stays visible; use
        ``private`` for the counts), ABS version markers, version needs and imports. Version
        indices are renumbered (BASE = 1, then nodes in order); symbols come sorted by name.
        With ``only``, just the symbols of those names (see :func:`changed_parts`).
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
            symbols=tuple(_to_symbol(s) for s in self._symbols_named(only)),
            sha256=self.sha256,
        )

    def _symbols_named(self, only: frozenset[str] | None) -> tuple[SymbolRecord, ...]:
        if only is None:
            return self.sorted_symbols()
        if not only:
            return ()
        return tuple(sorted((s for s in self.symbols if s.name in only), key=SymbolRecord.sort_key))


def changed_parts(
    old: LibraryRecord, new: LibraryRecord, *, quiet_node: IsPrivate | None = None
) -> tuple[LibraryABI, LibraryABI] | None:
    """Two stored libraries cut down to what a comparison can find different.

    ``compare_abi`` judges a symbol name only when one of its symbols differs, so the
    symbols of every other name are left out; the nodes all stay (node rules look at the
    whole list). Comparing the two results finds what comparing the whole records does, in
    time proportional to the change rather than to the library (``graph show`` compares
    every release with its parents). Private symbols are not stored, so nothing is lost.

    None when nothing a comparison could report differs: the same symbols, public nodes
    and metadata, and private nodes that are the same or, for ``quiet_node(name)`` true
    (a private node whose churn the profile weighs exempt), only renamed.
    """
    if old.symbols is new.symbols:
        names: frozenset[str] = frozenset()
    else:
        names = frozenset(s.name for s in old.symbols ^ new.symbols)
    if (
        not names
        and (old.nodes is new.nodes or old.nodes == new.nodes)
        and _facts(old) == _facts(new)
    ):
        churn = {p.name for p in old.private} ^ {p.name for p in new.private}
        if not churn:
            return None
        # With public nodes on both sides, a private node's churn is only node findings.
        if quiet_node is not None and old.nodes and all(quiet_node(n) for n in churn):
            return None
    return old.to_abi(names), new.to_abi(names)


def _facts(rec: LibraryRecord) -> tuple[object, ...]:
    return (rec.soname, rec.machine, rec.elf_class, rec.byte_order)


@dataclass(frozen=True, slots=True)
class ReleaseRecord:
    """One recorded release: its place in the graph, provenance and libraries."""

    name: str
    parents: tuple[str, ...]
    recorded_at: str  # ISO-8601 UTC, e.g. 2025-01-31T12:00:00Z
    source: str | None  # what was recorded: a package file, a directory, a snapshot...
    note: str | None
    libraries: tuple[LibraryRecord, ...]  # sorted by name
    # section -> its facts (item -> JSON value; see elfaudit.model.guarantees.SectionFacts),
    # only for the sections the release was recorded with
    sections: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

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
