"""``check``: a built library against the version scripts it was built from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from elfaudit.analysis.raw import RawFindings
from elfaudit.model.abi import LibraryABI, Symbol
from elfaudit.model.report import Finding, NodeClass
from elfaudit.model.script import Location, ScriptNode, VersionScript
from elfaudit.model.tags import VersionTag
from elfaudit.policy.profiles import Profile
from elfaudit.policy.rules import Rule
from elfaudit.readers import version_script as symfile


def check_library(abi: LibraryABI, script: VersionScript, profile: Profile) -> list[Finding]:
    """Every way the binary disagrees with the scripts, as raw findings (private nodes
    included: the weighing pass decides what they are worth).

    ``profile`` says how to read the scripts, not what findings weigh: ``exact_listing``
    (a symbol matched only by a wildcard is not listed) and ``chain``.
    """
    out = RawFindings(abi.name)
    named = [n for n in script.nodes if n.name is not None]
    _check_nodes(abi, named, out)
    _check_symbols(abi, script, profile.exact_listing, out)
    _check_listed(abi, script, out)
    _check_duplicates(script, out)
    if profile.chain:
        _check_chain(named, profile, out)
    return sorted(out.findings, key=lambda f: (f.rule, f.version or "", f.symbol or ""))


def _check_nodes(abi: LibraryABI, named: list[ScriptNode], out: RawFindings) -> None:
    lib_nodes = {v.name: v for v in abi.versions if not v.base}
    script_names = {n.name for n in named}
    for n in named:
        assert n.name is not None
        v = lib_nodes.get(n.name)
        if v is None:
            out.add(
                Rule.NODE_MISSING,
                n.name,
                f"version node {n.name} is declared in the script but not defined by the library",
                location=n.location,
            )
        elif set(v.parents) != set(n.parents):
            out.add(
                Rule.NODE_PARENT_MISMATCH,
                n.name,
                f"{n.name} has parents [{', '.join(v.parents)}] in the library but "
                f"[{', '.join(n.parents)}] in the script",
                location=n.location,
            )
    for name in lib_nodes:
        if name not in script_names:
            out.add(
                Rule.NODE_UNEXPECTED,
                name,
                f"the library defines version node {name}, which no script declares",
            )


def _check_symbols(
    abi: LibraryABI, script: VersionScript, exact_listing: bool, out: RawFindings
) -> None:
    by_name: dict[str, list[Symbol]] = defaultdict(list)
    for s in abi.symbols:
        by_name[s.name].append(s)
    named = any(n.name is not None for n in script.nodes)
    matcher = symfile.ScriptMatcher(script)
    for name, syms in sorted(by_name.items()):
        match = matcher.lookup(name)
        node = match.exported_node
        expected = node.name if node is not None else None
        wildcard = match.entry is not None and match.entry.is_wildcard
        defaults = [s for s in syms if s.default]
        for s in syms:
            if s.version is None:
                if abi.versioned and named:
                    out.add(
                        Rule.SYMBOL_UNVERSIONED,
                        expected,
                        f"{name} is exported without a version although the library defines "
                        "versions",
                        symbol=name,
                        hidden=not s.default,
                    )
                elif node is None and script.nodes:
                    out.add(
                        Rule.SYMBOL_NOT_IN_SCRIPT,
                        None,
                        f"{name} is exported but no version script lists it",
                        symbol=name,
                        hidden=not s.default,
                    )
                continue
            if node is None:
                if s.default:
                    out.add(
                        Rule.SYMBOL_NOT_IN_SCRIPT,
                        s.version,
                        f"{s.label} is exported but no version script lists it",
                        symbol=name,
                        hidden=not s.default,
                    )
                continue
            if s.version != expected:
                # A hidden compat symbol (foo@OLD beside foo@@NEW) is the sanctioned pattern.
                if not s.default and any(d.version == expected for d in defaults):
                    continue
                out.add(
                    Rule.SYMBOL_WRONG_NODE,
                    s.version,
                    f"{name} is exported as {s.label} but the script puts it in "
                    f"{expected or 'the anonymous node'}",
                    symbol=name,
                    hidden=not s.default,
                )
                continue
            if not defaults:
                out.add(
                    Rule.SYMBOL_NOT_DEFAULT,
                    s.version,
                    f"{name} is exported only as {s.label} (hidden): new programs cannot link it",
                    symbol=name,
                    hidden=not s.default,
                )
            if wildcard and exact_listing:
                assert match.entry is not None
                out.add(
                    Rule.SYMBOL_NOT_IN_SCRIPT,
                    s.version,
                    f"{s.label} is exported only because the wildcard '{match.entry.pattern}' "
                    f"in {expected or 'the anonymous node'} matches it",
                    symbol=name,
                    hidden=not s.default,
                    location=match.entry.location,
                )


def _check_listed(abi: LibraryABI, script: VersionScript, out: RawFindings) -> None:
    exported = {s.name for s in abi.symbols}
    for n in script.nodes:
        for e in n.globals:
            if e.is_wildcard or e.language == "C++":
                continue
            if e.pattern not in exported:
                out.add(
                    Rule.SCRIPT_SYMBOL_MISSING,
                    n.name,
                    f"{e.pattern} is listed in {n.name or 'the anonymous node'} but not exported",
                    symbol=e.pattern,
                    location=e.location,
                )


def _check_duplicates(script: VersionScript, out: RawFindings) -> None:
    first: dict[str, tuple[ScriptNode, Location]] = {}
    for n in script.nodes:
        for e in n.globals:
            if e.is_wildcard:
                continue
            seen = first.get(e.pattern)
            if seen is None:
                first[e.pattern] = (n, e.location)
                continue
            where = seen[0].name or "the anonymous node"
            out.add(
                Rule.SCRIPT_DUPLICATE_SYMBOL,
                n.name,
                f"{e.pattern} is listed again (first in {where} at line {seen[1].line})",
                symbol=e.pattern,
                location=e.location,
            )


def _check_chain(named: list[ScriptNode], profile: Profile, out: RawFindings) -> None:
    """Each public/weak node inherits the previous node of its family; names increase."""
    where = {n.name: n.location for n in named}
    pairs = [(n.name, n.parents) for n in named if n.name is not None]
    for node, message in chain_breaks(pairs, profile):
        out.add(Rule.SCRIPT_CHAIN_BROKEN, node, message, location=where[node])


def chain_breaks(
    nodes: Sequence[tuple[str, tuple[str, ...]]], profile: Profile
) -> list[tuple[str, str]]:
    """``(node, message)`` for each break of the per-family chain (see :func:`self_check`).

    The same rule ``check`` applies to version scripts, on ``(name, parents)`` pairs in
    definition order, so it works on binaries too.
    """
    out: list[tuple[str, str]] = []
    previous: dict[str, str] = {}
    for name, parents in nodes:
        if profile.node_class(name) is NodeClass.PRIVATE:
            continue
        tag = VersionTag.parse(name)
        prev = previous.get(tag.prefix)
        if prev is None:
            if parents:
                out.append(
                    (
                        name,
                        f"{name} is the first {tag.prefix} node but inherits {', '.join(parents)}",
                    )
                )
        else:
            if tuple(parents) != (prev,):
                got = ", ".join(parents) or "nothing"
                out.append(
                    (name, f"{name} inherits {got}; the chain needs the previous node {prev}")
                )
            if not tag.numbers or tag <= VersionTag.parse(prev):
                out.append((name, f"{name} does not sort after the previous node {prev}"))
        previous[tag.prefix] = name
    return out
