"""``compare``: one release of a library against an earlier one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from operator import attrgetter

from elfaudit.analysis.raw import RawFindings
from elfaudit.model.abi import DATA_TYPES, LibraryABI, Symbol
from elfaudit.model.report import Finding, NodeClass, PrivateSummary
from elfaudit.model.tags import VersionTag
from elfaudit.policy.profiles import Profile
from elfaudit.policy.rules import Rule

# What a caller can tell apart: FUNC and IFUNC are both code (the dynamic linker runs an
# IFUNC's resolver and binds the caller to its answer; glibc switches every release).
_KINDS = {"FUNC": "code", "IFUNC": "code", "OBJECT": "data", "COMMON": "data", "TLS": "tls"}

# The rules judged symbol by symbol: skipped in private nodes when all are exempt there.
_SYMBOL_RULES = (
    Rule.SYMBOL_REMOVED,
    Rule.SYMBOL_VERSION_CHANGED,
    Rule.SYMBOL_DEFAULT_LOST,
    Rule.SYMBOL_TYPE_CHANGED,
    Rule.SYMBOL_BINDING_CHANGED,
    Rule.SYMBOL_VISIBILITY_CHANGED,
    Rule.SYMBOL_SIZE_CHANGED,
    Rule.SYMBOL_ADDED_TO_RELEASED_NODE,
    Rule.SYMBOL_ADDED,
)


@dataclass(frozen=True, slots=True)
class Comparison:
    findings: tuple[Finding, ...]
    private: PrivateSummary | None


def compare_abi(
    old: LibraryABI, new: LibraryABI, profile: Profile, *, show_private: bool = False
) -> Comparison:
    """Every change from ``old`` to ``new`` that matters to programs linked against ``old``.

    Keeping an old version as a hidden compat symbol (``foo@V1`` beside ``foo@@V2``)
    is not a removal; an unversioned symbol that gained a default version is not a move
    (an unversioned reference binds to the default), and a library that adds symbol
    versioning gets one ``versioning-added`` finding. The findings are raw (see
    :mod:`elfaudit.policy.weigh`). Private nodes are summarised; their symbols are not
    compared one by one when the profile exempts every symbol rule there (it is most of
    the work on libvirt), which is what weighing would have made of those findings anyway.
    """
    out = RawFindings(new.name)
    if (old.machine, old.elf_class, old.byte_order) != (new.machine, new.elf_class, new.byte_order):
        out.add(
            Rule.MACHINE_CHANGED,
            None,
            f"old is {old.machine} {old.elf_class}-bit {old.byte_order}-endian, new is "
            f"{new.machine} {new.elf_class}-bit {new.byte_order}-endian",
        )
    if old.soname != new.soname:
        was, now = old.soname or "no SONAME", new.soname or "no SONAME"
        out.add(Rule.SONAME_CHANGED, None, f"SONAME changed from {was} to {now}")
    _compare_nodes(old, new, profile, out)
    private = {
        n for n in (*old.node_names, *new.node_names) if profile.node_class(n) is NodeClass.PRIVATE
    }
    _compare_symbols(old, new, private, _skip_private(profile), out)
    findings = sorted(out.findings, key=lambda f: (f.rule, f.version or "", f.symbol or ""))
    return Comparison(tuple(findings), _private_summary(old, new, profile, show_private))


def _compare_nodes(old: LibraryABI, new: LibraryABI, profile: Profile, out: RawFindings) -> None:
    new_nodes = {v.name: v for v in new.versions if not v.base}
    old_nodes = {v.name: v for v in old.versions if not v.base}
    if not old_nodes and new_nodes:
        names = ", ".join(new_nodes)
        out.add(
            Rule.VERSIONING_ADDED,
            None,
            f"{new.name} now versions its symbols ({names}); programs built against the "
            "unversioned library bind to the default versions",
        )
        return
    held = {s.version for s in old.symbols if s.version is not None}
    for name, v in old_nodes.items():
        n = new_nodes.get(name)
        if n is None:
            if name in held:
                out.add(Rule.NODE_REMOVED, name, f"version node {name} was removed")
            else:
                out.add(
                    Rule.EMPTY_NODE_REMOVED,
                    name,
                    f"version node {name} was removed; it held no symbol, so no program "
                    "can need it",
                )
        elif set(n.parents) != set(v.parents):
            out.add(
                Rule.NODE_PARENT_CHANGED,
                name,
                f"{name} inherited [{', '.join(v.parents)}], now [{', '.join(n.parents)}]",
            )
    added = [name for name in new_nodes if name not in old_nodes]
    for name in added:
        out.add(Rule.NODE_ADDED, name, f"version node {name} was added")
    if profile.release_named_nodes:
        _named_for_shipped(old_nodes, added, profile, out)


def _named_for_shipped(
    old_nodes: Iterable[str], added: list[str], profile: Profile, out: RawFindings
) -> None:
    """With node names that carry the release introducing them, OLD shipped as (at least)
    the release of its newest public or weak node: a node added since, named for that
    release or an earlier one, claims a release that shipped without it."""
    shipped = [
        (VersionTag.parse(n).numbers[:3], n)
        for n in old_nodes
        if profile.node_class(n) is not NodeClass.PRIVATE
    ]
    shipped = [(nums, n) for nums, n in shipped if nums]
    if not shipped:
        return
    newest_nums, newest = max(shipped)
    for name in added:
        nums = VersionTag.parse(name).numbers[:3]
        if nums and nums <= newest_nums:
            out.add(
                Rule.NODE_NAMED_FOR_SHIPPED_RELEASE,
                name,
                f"{name} is new, but the old library already shipped {newest} without it: "
                f"programs needing {name} would accept a release that lacks it",
            )


_FACTS = attrgetter("name", "version", "default", "type", "binding", "visibility", "size")


def _changed_names(old: LibraryABI, new: LibraryABI, private: set[str]) -> set[str]:
    """Names with a public symbol (any version but a private node) that is not the same in
    both releases. Every finding is about such a name: the others are skipped unread,
    which on libvirt is nearly all of them (the facts are taken by a C-level getter)."""
    before = {t for t in map(_FACTS, old.symbols) if t[1] not in private}
    after = {t for t in map(_FACTS, new.symbols) if t[1] not in private}
    return {t[0] for t in before ^ after}


def _index(symbols: tuple[Symbol, ...], names: set[str]) -> dict[str, dict[str | None, Symbol]]:
    """Name -> version -> symbol, for the given names only."""
    idx: dict[str, dict[str | None, Symbol]] = defaultdict(dict)
    for s in symbols:
        if s.name in names:
            idx[s.name][s.version] = s
    return idx


def _skip_private(profile: Profile) -> bool:
    """Can private nodes go uncompared? Yes when every symbol rule is exempt there."""
    return all(profile.severity_table(r.id)["private"] is None for r in _SYMBOL_RULES)


def _compare_symbols(
    old: LibraryABI, new: LibraryABI, private: set[str], skip: bool, out: RawFindings
) -> None:
    old_nodes = set(old.node_names)
    skipped = private if skip else set()
    changed = _changed_names(old, new, skipped)
    old_idx, new_idx = _index(old.symbols, changed), _index(new.symbols, changed)
    for name, old_versions in old_idx.items():
        new_versions = new_idx.get(name, {})
        new_defaults = [s for s in new_versions.values() if s.default]
        for ver, o in old_versions.items():
            if ver in skipped:
                continue
            n = new_versions.get(ver)
            if n is None:
                _gone(o, new_versions, out)
                continue
            if o.default and not n.default and not new_defaults:
                out.add(
                    Rule.SYMBOL_DEFAULT_LOST,
                    ver,
                    f"{o.label} became {n.label}: it has no default version left, so new "
                    "programs cannot link against it",
                    name,
                )
            _compare_attributes(o, n, out)
    for name, new_versions in new_idx.items():
        old_versions = old_idx.get(name, {})
        old_public = [v for v in old_versions if v not in private]
        for ver, n in new_versions.items():
            if ver in old_versions or ver in skipped:
                continue
            if old_public:
                # The name existed at another version: either reported as moved, or the
                # compat pattern (old version kept hidden, new default added).
                if not any(v in new_versions for v in old_public):
                    continue
                if ver is None or ver not in old_nodes:
                    out.add(Rule.SYMBOL_ADDED, ver, f"{n.label} was added", name)
                    continue
            if ver is not None and ver in old_nodes and n.default:
                # A new version of a name in a node that already shipped: what the history
                # check reports too. A hidden one is no addition to the node: nothing can
                # link it, so no dependency on the node can lie (reported as added).
                out.add(
                    Rule.SYMBOL_ADDED_TO_RELEASED_NODE,
                    ver,
                    f"{n.label} is new, but {ver} already shipped in the old release",
                    name,
                )
            else:
                out.add(Rule.SYMBOL_ADDED, ver, f"{n.label} was added", name, hidden=not n.default)


def _gone(o: Symbol, new_versions: dict[str | None, Symbol], out: RawFindings) -> None:
    moved_to = [s for s in new_versions.values() if s.default]
    if o.version is None and moved_to:
        # An unversioned reference binds to the default version: nothing to report.
        return
    if o.default and moved_to:
        dest = ", ".join(s.label for s in moved_to)
        out.add(
            Rule.SYMBOL_VERSION_CHANGED,
            o.version,
            f"{o.label} moved to {dest}: programs bound to {o.version} fail to load",
            o.name,
        )
    else:
        out.add(
            Rule.SYMBOL_REMOVED, o.version, f"{o.label} was removed", o.name, hidden=not o.default
        )


def _compare_attributes(o: Symbol, n: Symbol, out: RawFindings) -> None:
    if _KINDS.get(o.type, o.type) != _KINDS.get(n.type, n.type):
        out.add(
            Rule.SYMBOL_TYPE_CHANGED,
            o.version,
            f"{o.label} changed from {o.type} to {n.type}",
            o.name,
            hidden=not o.default,
        )
    if o.binding != n.binding:
        out.add(
            Rule.SYMBOL_BINDING_CHANGED,
            o.version,
            f"{o.label} changed binding from {o.binding} to {n.binding}",
            o.name,
            hidden=not o.default,
        )
    if o.visibility != n.visibility:
        out.add(
            Rule.SYMBOL_VISIBILITY_CHANGED,
            o.version,
            f"{o.label} changed visibility from {o.visibility} to {n.visibility}",
            o.name,
            hidden=not o.default,
        )
    if o.type in DATA_TYPES and n.type == o.type and o.size != n.size:
        out.add(
            Rule.SYMBOL_SIZE_CHANGED,
            o.version,
            f"{o.label} changed size from {o.size} to {n.size} bytes",
            o.name,
            hidden=not o.default,
        )


def _private_summary(
    old: LibraryABI, new: LibraryABI, profile: Profile, show_private: bool
) -> PrivateSummary | None:
    def private(abi: LibraryABI) -> tuple[tuple[str, ...], set[str]]:
        nodes = tuple(n for n in abi.node_names if profile.is_private(n))
        names = {s.name for s in abi.symbols if s.version is not None and s.version in nodes}
        return nodes, names

    old_nodes, old_names = private(old)
    new_nodes, new_names = private(new)
    if not old_nodes and not new_nodes:
        return None
    added, removed = new_names - old_names, old_names - new_names
    listed: tuple[str, ...] = ()
    if show_private:
        listed = tuple([f"+{s}" for s in sorted(added)] + [f"-{s}" for s in sorted(removed)])
    return PrivateSummary(new.name, old_nodes, new_nodes, len(added), len(removed), listed)
