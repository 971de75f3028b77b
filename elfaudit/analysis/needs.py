"""What a program (or library) needs from the libraries it links, and whether a build has it.

A binary linked against versioned libraries records, per DT_NEEDED library, the version nodes
it needs (``.gnu.version_r``) and, per imported symbol, the node it was bound to at link time.
At start-up ld.so refuses to run when a needed node is missing (``version `LIBVIRT_9.0.0' not
found``) and when a symbol is missing at its node (``undefined symbol: X, version Y``). The
newest node needed from a library is therefore the oldest release of that library the program
can run with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from elfaudit.model.abi import LibraryABI
from elfaudit.model.tags import VersionTag, node_key, release_key

__all__ = [
    "LibraryNeeds",
    "Missing",
    "NeedsResult",
    "minimum_release",
    "missing",
    "required_nodes",
    "satisfies",
]


def required_nodes(program: LibraryABI, soname: str | None = None) -> dict[str, list[str]]:
    """``{library: [node, ...]}`` from ``.gnu.version_r`` and the versioned imports.

    Nodes are sorted by :class:`~elfaudit.model.tags.VersionTag`; libraries by name. With
    ``soname``, only that library (an empty dict when the program needs nothing of it).
    """
    found: dict[str, set[str]] = defaultdict(set)
    for vn in program.version_needs:
        found[vn.file].add(vn.name)
    for imp in program.imports:
        if imp.version is not None and imp.file is not None:
            found[imp.file].add(imp.version)
    if soname is not None:
        found = {soname: found[soname]} if found.get(soname) else {}
    return {lib: sorted(nodes, key=node_key) for lib, nodes in sorted(found.items())}


@dataclass(frozen=True, slots=True)
class LibraryNeeds:
    """What a binary needs from one library."""

    soname: str
    nodes: tuple[str, ...]  # every node needed, oldest first
    newest: str  # the node that decides the minimum release
    release: str | None  # the oldest release of the library providing every node (if known)
    symbols: tuple[str, ...]  # imported symbols bound to ``newest``
    weak_nodes: tuple[str, ...] = ()  # needed with VER_FLG_WEAK: ld.so only warns if absent


@dataclass(frozen=True, slots=True)
class NeedsResult:
    program: str
    libraries: tuple[LibraryNeeds, ...]
    unversioned: tuple[str, ...]  # non-weak imports without a version: any build satisfies them

    def library(self, soname: str) -> LibraryNeeds | None:
        for lib in self.libraries:
            if lib.soname == soname:
                return lib
        return None


def minimum_release(
    program: LibraryABI, *, node_to_release: Callable[[str, str], str | None]
) -> NeedsResult:
    """Per library, the newest node the program needs and the release that introduced it.

    ``node_to_release(soname, node)`` maps a node to a release (None when unknown). The
    newest node is the one mapping to the latest release (by
    :func:`~elfaudit.model.tags.release_key`); when no node maps to a release it is the node with
    the highest version numbers.
    """
    weak = {(vn.file, vn.name) for vn in program.version_needs if vn.weak}
    libs: list[LibraryNeeds] = []
    for soname, nodes in required_nodes(program).items():
        releases = {n: node_to_release(soname, n) for n in nodes}
        known = [n for n in nodes if releases[n] is not None]
        if known:
            newest = max(
                known,
                key=lambda n: (release_key(releases[n] or ""), VersionTag.parse(n).numbers, n),
            )
        else:
            newest = max(nodes, key=lambda n: (VersionTag.parse(n).numbers, n))
        symbols = sorted(
            {i.name for i in program.imports if i.file == soname and i.version == newest}
        )
        libs.append(
            LibraryNeeds(
                soname=soname,
                nodes=tuple(nodes),
                newest=newest,
                release=releases[newest],
                symbols=tuple(symbols),
                weak_nodes=tuple(n for n in nodes if (soname, n) in weak),
            )
        )
    unversioned = sorted({i.name for i in program.imports if i.version is None and not i.weak})
    return NeedsResult(program.name, tuple(libs), tuple(unversioned))


@dataclass(frozen=True, slots=True)
class Missing:
    """What ``library`` lacks for ``program`` (empty tuples when it satisfies it)."""

    linked: bool  # the program links the library at all (DT_NEEDED or version needs)
    nodes: tuple[str, ...]  # needed nodes the library does not define
    weak_nodes: tuple[str, ...]  # the subset of ``nodes`` needed weakly
    symbols: tuple[tuple[str, str], ...]  # (symbol, node) pairs the library does not export
    weak_symbols: tuple[tuple[str, str], ...]  # the subset of ``symbols`` imported weakly

    @property
    def fatal(self) -> bool:
        strong_nodes = set(self.nodes) - set(self.weak_nodes)
        strong_syms = set(self.symbols) - set(self.weak_symbols)
        return bool(strong_nodes or strong_syms)


def missing(program: LibraryABI, library: LibraryABI) -> Missing:
    """Compare what ``program`` needs from ``library`` (matched by SONAME) with what it has."""
    soname = library.name
    needed = required_nodes(program, soname).get(soname, [])
    linked = soname in program.needed or bool(needed)
    defined = set(library.node_names)
    exported = {(s.name, s.version) for s in library.symbols}
    weak_needs = {vn.name for vn in program.version_needs if vn.file == soname and vn.weak}
    nodes = tuple(n for n in needed if n not in defined)
    syms: set[tuple[str, str]] = set()
    weak_syms: set[tuple[str, str]] = set()
    for imp in program.imports:
        if imp.file != soname or imp.version is None or imp.version not in defined:
            continue
        if (imp.name, imp.version) not in exported:
            syms.add((imp.name, imp.version))
            if imp.weak:
                weak_syms.add((imp.name, imp.version))
    return Missing(
        linked=linked,
        nodes=nodes,
        weak_nodes=tuple(n for n in nodes if n in weak_needs),
        symbols=tuple(sorted(syms, key=lambda p: (node_key(p[1]), p[0]))),
        weak_symbols=tuple(sorted(weak_syms, key=lambda p: (node_key(p[1]), p[0]))),
    )


def satisfies(program: LibraryABI, library: LibraryABI) -> list[str]:
    """Why ``library`` cannot run ``program``, in ld.so's words; empty when it can.

    One line per missing node (with the symbols bound to it) and per symbol missing from a node
    the library does define. Weak needs are listed with a note, as ld.so tolerates them.
    Symbols imported without a version are not judged (any library exporting the name would
    do, and the program may find them in another library).
    """
    soname = library.name
    prog = program.name
    m = missing(program, library)
    if not m.linked:
        needed = ", ".join(program.needed) or "nothing"
        return [f"{prog} does not link {soname} (it needs {needed})"]
    out: list[str] = []
    for node in m.nodes:
        bound = sorted({i.name for i in program.imports if i.file == soname and i.version == node})
        shown = ", ".join(bound[:3]) + (f" and {len(bound) - 3:,} more" if len(bound) > 3 else "")
        uses = f"; binds {shown}" if bound else ""
        weak = " (weak: ld.so only warns)" if node in m.weak_nodes else ""
        out.append(f"{soname}: version `{node}' not found (required by {prog}{uses}){weak}")
    for name, node in m.symbols:
        weak = " (weak: resolves to NULL)" if (name, node) in m.weak_symbols else ""
        out.append(f"{prog}: undefined symbol: {name}, version {node} (in {soname}){weak}")
    return out
