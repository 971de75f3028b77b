"""The package is the unit: symbols that moved to another library of the same new set.

glibc 2.34 moved libpthread, libdl and librt into ``libc.so.6``: the old libraries remain
as stubs that still define their version nodes, and old programs keep running. Compared
library by library, that is hundreds of ``symbol-removed`` errors burying the real ones.

What ld.so does with an old program's reference ``foo@V1`` recorded against ``libA``
(``.gnu.version_r``: file ``libA``, version ``V1``):

1. it checks that the object *named* by the need, ``libA``, defines ``V1``; if not, the
   program does not start ("version `V1' not found"), whatever else defines it;
2. it looks ``foo`` up in the global scope, in load order, accepting any object whose
   definition carries version ``V1``, default (``@@``) or hidden (``@``): the lookup is
   not restricted to ``libA``.

So ``foo@V1`` gone from ``libA`` but defined, at the same node, by a library ``libB`` of
the new set is still resolved when ``libA`` still defines ``V1`` and ``libB`` is loaded
whenever ``libA`` is: ``libB`` is in ``libA``'s ``DT_NEEDED`` closure (within the new set),
or ``libB`` is loaded into every process anyway (``libc.so.6``, the dynamic linker). Such a
removal is reported as ``symbol-moved-library``; otherwise it stays ``symbol-removed``, with
what is missing for the move said in its message. The move's counterpart in ``libB``
(``symbol-added``, or a hidden ``symbol-added-to-released-node``) is dropped: the move
names it. The findings are raw, as every analyser's.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import replace

from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding
from elfaudit.policy.rules import Rule

#: SONAMEs (globs) loaded into every dynamically linked glibc process.
ALWAYS_LOADED = ("libc.so.6", "ld-linux*.so.*", "ld64.so.*", "ld.so.1")

_COUNTERPARTS = frozenset({Rule.SYMBOL_ADDED.id, Rule.SYMBOL_ADDED_TO_RELEASED_NODE.id})


def always_loaded(soname: str | None) -> bool:
    return soname is not None and any(fnmatch.fnmatchcase(soname, p) for p in ALWAYS_LOADED)


def _closure(start: LibraryABI, by_soname: dict[str, LibraryABI]) -> list[LibraryABI]:
    """``start``'s DT_NEEDED closure within the set, breadth first (ld.so's load order)."""
    seen = {id(start)}
    order: list[LibraryABI] = []
    queue = [start]
    while queue:
        lib = queue.pop(0)
        for name in lib.needed:
            dep = by_soname.get(name)
            if dep is not None and id(dep) not in seen:
                seen.add(id(dep))
                order.append(dep)
                queue.append(dep)
    return order


def fold_moves(findings: Sequence[Finding], new: Iterable[LibraryABI]) -> list[Finding]:
    """``findings`` (raw, of a whole comparison) with moves within the new set folded."""
    libs = list(new)
    removed = [f for f in findings if f.rule == Rule.SYMBOL_REMOVED.id and f.symbol is not None]
    if len(libs) < 2 or not removed:
        return list(findings)
    wanted = {f.symbol for f in removed}
    definers: dict[tuple[str, str | None], list[LibraryABI]] = {}
    for lib in libs:
        for s in lib.symbols:
            if s.name in wanted:
                holders = definers.setdefault((s.name, s.version), [])
                if not holders or holders[-1] is not lib:
                    holders.append(lib)
    by_name = {lib.name: lib for lib in libs}
    by_soname = {lib.soname: lib for lib in libs if lib.soname is not None}
    closures: dict[str, list[LibraryABI]] = {}
    replaced: dict[int, Finding] = {}
    counterparts: set[tuple[str, str, str | None]] = set()
    for i, f in enumerate(findings):
        if f.rule != Rule.SYMBOL_REMOVED.id or f.symbol is None:
            continue
        home = by_name.get(f.library)
        holders = [b for b in definers.get((f.symbol, f.version), ()) if b is not home]
        if home is None or not holders:
            continue
        if home.name not in closures:
            closures[home.name] = _closure(home, by_soname)
        loaded = closures[home.name]
        reachable = [b for b in loaded if b in holders]
        reachable += [b for b in holders if b not in reachable and always_loaded(b.soname)]
        label = f"{f.symbol}@{f.version}" if f.version is not None else f.symbol
        if f.version is not None and home.node(f.version) is None:
            where = ", ".join(b.name for b in holders)
            replaced[i] = replace(
                f,
                message=f"{f.message}; {where} of the new set defines it, but {home.name} no "
                f"longer defines {f.version}: old programs fail with 'version not found'",
            )
            continue
        if not reachable:
            where = ", ".join(b.name for b in holders)
            replaced[i] = replace(
                f,
                message=f"{f.message}; {where} of the new set defines it, but {home.name} "
                "does not load it, so old programs do not find it there",
            )
            continue
        dest = reachable[0]
        how = f"which {home.name} loads" if dest in loaded else "which every process loads"
        node_kept = f"{home.name} keeps {f.version}" if f.version is not None else "unversioned"
        replaced[i] = Rule.SYMBOL_MOVED_LIBRARY.finding(
            f.library,
            f.version,
            f"{label} moved from {home.name} to {dest.name} ({node_kept}; {dest.name}, "
            f"{how}, defines {label}): old programs still resolve it, new programs "
            f"find it in {dest.name}",
            f.symbol,
            hidden=f.hidden,
        )
        counterparts.add((dest.name, f.symbol, f.version))
    out: list[Finding] = []
    for i, f in enumerate(findings):
        if i in replaced:
            out.append(replaced[i])
        elif (
            f.rule in _COUNTERPARTS
            and f.symbol is not None
            and ((f.library, f.symbol, f.version) in counterparts)
            and (f.rule == Rule.SYMBOL_ADDED.id or f.hidden)
        ):
            continue
        else:
            out.append(f)
    return out
