"""``graph check``: judge a new build against every release before it, not only its parent."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from elfaudit.analysis.compare import compare_abi
from elfaudit.analysis.raw import RawFindings
from elfaudit.graph.dag import ReleaseGraph
from elfaudit.graph.records import LibraryRecord, changed_parts
from elfaudit.model.abi import LibraryABI, Symbol
from elfaudit.model.report import Finding, Severity
from elfaudit.model.tags import VersionTag, release_key
from elfaudit.policy.profiles import Profile, profile_for
from elfaudit.policy.rules import Rule
from elfaudit.policy.weigh import weigh

WaiverFn = Callable[[list[Finding], str], Sequence[Finding]]

# What a new build must keep from every ancestor. Additions are judged against the
# parents only (they are news, not breakage), and released-node additions separately.
_AGAINST_ALL = {
    Rule.SYMBOL_REMOVED.id,
    Rule.SYMBOL_VERSION_CHANGED.id,
    Rule.SYMBOL_DEFAULT_LOST.id,
    Rule.SYMBOL_TYPE_CHANGED.id,
    Rule.SYMBOL_BINDING_CHANGED.id,
    Rule.SYMBOL_VISIBILITY_CHANGED.id,
    Rule.SYMBOL_SIZE_CHANGED.id,
    Rule.NODE_REMOVED.id,
    Rule.NODE_PARENT_CHANGED.id,
    Rule.SONAME_CHANGED.id,
    Rule.MACHINE_CHANGED.id,
}
_AGAINST_PARENTS = {Rule.SYMBOL_ADDED.id, Rule.NODE_ADDED.id}


def release_numbers(release: str) -> tuple[int, ...]:
    """``debian/11.3.0-2~bpo12+1`` -> (11, 3, 0): the upstream version a release carries."""
    return release_key(release)[0][:3]


def upstream_version(release: str) -> str:
    m = re.search(r"\d+(?:\.\d+)*", release)
    return m.group(0) if m else release


_MAIN_LINE = re.compile(r"v?\d+(?:\.\d+)*")


def is_main_line(release: str) -> bool:
    """``12.8.0`` is on the main line; ``debian/11.3.0-2~bpo12+1``, ``11.3.0-2~bpo12+1``
    or ``9.0.0-4+deb12u2`` (a distro build: a Debian revision, a backport) are not."""
    return _MAIN_LINE.fullmatch(release) is not None


def default_parents(graph: ReleaseGraph, release: str) -> list[str]:
    """The newest recorded release that sorts before ``release`` (numerically); for a
    main-line release, the newest main-line one before it (a backport or distro build
    of 11.3.0 is a branch, never the parent of 12.8.0), when there is one."""
    key = release_key(release)
    earlier = [r for r in graph.releases() if release_key(r) < key and r != release]
    if not earlier:
        return []
    if is_main_line(release):
        main = [r for r in earlier if is_main_line(r)]
        earlier = main or earlier
    # Prefer an upstream release over a distro build of the same version.
    return [max(earlier, key=lambda r: (release_key(r)[0], is_main_line(r), "/" not in r, r))]


@dataclass(frozen=True, slots=True)
class GraphVerdict:
    release: str
    parents: tuple[str, ...]
    ancestors: tuple[str, ...]
    findings: tuple[Finding, ...]


def graph_check(
    graph: ReleaseGraph,
    libs: Sequence[LibraryABI],
    release: str,
    parents: Sequence[str] | None = None,
    *,
    profile: str | None = None,
) -> GraphVerdict:
    """Every way ``libs`` (the build of ``release``) breaks a promise of an earlier release,
    weighed by each library's profile (waivers are the caller's)."""
    if parents is not None:
        chosen = list(parents)
    elif release in graph:  # re-judging a recorded release: against its recorded history
        chosen = graph.parents(release)
    else:
        chosen = default_parents(graph, release)
    ancestors: set[str] = set()
    for p in chosen:
        graph.release(p)  # raises GraphError for an unknown parent
        ancestors |= {p, *graph.ancestor_set(p)}
    ordered = [r for r in graph.releases() if r in ancestors]
    findings: list[Finding] = []
    for abi in libs:
        prof = profile_for(abi.soname, profile)
        findings.extend(weigh(_judge_library(graph, abi, release, chosen, ordered, prof), prof))
    findings.sort(key=lambda f: (f.library, f.rule, f.version or "", f.symbol or ""))
    return GraphVerdict(release, tuple(chosen), tuple(ordered), tuple(findings))


def _content(rec: LibraryRecord) -> frozenset[object]:
    """Everything about a stored library that a comparison can find broken."""
    meta = ("meta", rec.soname, rec.machine, rec.elf_class, rec.byte_order)
    nodes = (("node", n.name, frozenset(n.parents)) for n in rec.nodes)
    return frozenset(rec.symbols).union(nodes, (meta,))


def _covering(records: list[tuple[str, LibraryRecord]]) -> set[str]:
    """Ancestors whose content no later ancestor contains entirely.

    Anything an ancestor shipped that the new build breaks is also shipped, identically,
    by an ancestor covering it, so comparing with these finds every break: in a history
    that only grows that is the parent alone, not all of the (possibly 200) ancestors.
    """
    kept: list[tuple[str, frozenset[object]]] = []
    seen: set[tuple[object, ...]] = set()
    for anc, rec in reversed(records):  # newest first: the likeliest to cover the rest
        # Records sharing a symbol set and node list (unchanged releases) are covered by
        # the first of them met: their content is built and compared once.
        same = (id(rec.symbols), id(rec.nodes), rec.soname, rec.machine, rec.elf_class)
        if same in seen:
            continue
        seen.add(same)
        content = _content(rec)
        if not any(content <= other for _, other in kept):
            kept.append((anc, content))
    return {anc for anc, _ in kept}


def _judge_library(
    graph: ReleaseGraph,
    abi: LibraryABI,
    release: str,
    parents: list[str],
    ancestors: list[str],
    prof: Profile,
) -> list[Finding]:
    records = [(a, rec) for a in ancestors if (rec := graph.record(a, abi.name)) is not None]
    judged = _covering(records) | {a for a, _ in records if a in parents}
    seen: dict[tuple[str, str | None, str | None], Finding] = {}
    for anc, _ in records:
        if anc not in judged:
            continue
        old = graph.library(anc, abi.name)
        assert old is not None
        wanted = _AGAINST_ALL | (_AGAINST_PARENTS if anc in parents else set())
        for f in compare_abi(old, abi, prof).findings:
            if f.rule in wanted:
                seen.setdefault((f.rule, f.symbol, f.version), f)
    since = _carriers(graph, abi.name, records, seen)
    out = []
    for key, f in seen.items():
        if f.rule in _AGAINST_ALL:
            rels = since.get(key) or [a for a, _ in records]
            more = f" (and {len(rels) - 1} more)" if len(rels) > 1 else ""
            f = _with_message(f, f"{f.message} [against {rels[0]}{more}]")
        out.append(f)
    out.extend(_released_node_additions(graph, abi, ancestors, prof))
    out.extend(_node_names(graph, abi, release, ancestors, prof))
    return out


def _carriers(
    graph: ReleaseGraph,
    soname: str,
    records: list[tuple[str, LibraryRecord]],
    seen: dict[tuple[str, str | None, str | None], Finding],
) -> dict[tuple[str, str | None, str | None], list[str]]:
    """For each break, the ancestors (oldest first) that shipped what it is about."""
    by_symbol: dict[tuple[str, str | None], list[tuple[str, str | None, str | None]]] = {}
    by_node: dict[str, list[tuple[str, str | None, str | None]]] = {}
    for key in seen:
        rule, symbol, version = key
        if rule not in _AGAINST_ALL:
            continue
        if symbol is not None:
            by_symbol.setdefault((symbol, version), []).append(key)
        elif version is not None:
            by_node.setdefault(version, []).append(key)
    out: dict[tuple[str, str | None, str | None], list[str]] = {}
    if not by_symbol and not by_node:
        return out
    unversioned = any(version is None for _, version in by_symbol)
    for anc, rec in records:
        hit: set[tuple[str, str | None, str | None]] = set()
        # Look the few breaks up in the release's node index rather than walking all of
        # its symbols: linear in the breaks, not in the history's size.
        per_node = graph.node_symbols(anc, soname) or {}
        loose = {s.name for s in rec.symbols if s.node is None} if unversioned else set()
        for (symbol, version), keys in by_symbol.items():
            if symbol in (loose if version is None else per_node.get(version, ())):
                hit.update(keys)
        for name, keys in by_node.items():
            if name in per_node:
                hit.update(keys)
        for key in hit:
            out.setdefault(key, []).append(anc)
    return out


def _with_message(f: Finding, message: str) -> Finding:
    from dataclasses import replace

    return replace(f, message=message)


def _released_node_additions(
    graph: ReleaseGraph, abi: LibraryABI, ancestors: list[str], prof: Profile
) -> list[Finding]:
    """A symbol in a node that some ancestor shipped without it (even if a parent had it)."""
    sink = RawFindings(abi.name)
    reported: set[tuple[str, str]] = set()
    by_node: dict[str, dict[str, list[Symbol]]] = {}
    for s in abi.symbols:
        if s.version is not None:
            by_node.setdefault(s.version, {}).setdefault(s.name, []).append(s)
    wanted = {node: frozenset(names) for node, names in by_node.items()}
    done: set[int] = set()
    for anc in ancestors:
        shipped = graph.node_symbols(anc, abi.name)
        # Releases that changed nothing share one index: judged once, at the first of them
        # (the oldest, so the message names the release that shipped the node first).
        if shipped is None or id(shipped) in done:
            continue
        done.add(id(shipped))
        for node in wanted.keys() & shipped.keys():
            for name in sorted(wanted[node] - shipped[node]):
                if (name, node) in reported:
                    continue
                reported.add((name, node))
                s = by_node[node][name][0]  # the first in symbol order, as ever
                sink.add(
                    Rule.SYMBOL_ADDED_TO_RELEASED_NODE,
                    node,
                    f"{s.label} is not in {node} as release {anc} shipped it: a symbol "
                    "must go into a new node",
                    s.name,
                    hidden=not s.default,
                )
    return sink.findings


def _node_names(
    graph: ReleaseGraph, abi: LibraryABI, release: str, ancestors: list[str], prof: Profile
) -> list[Finding]:
    """Node names against the release being built and the releases before it (raw: the
    private node's name is judged too, and weighed like any other finding)."""
    sink = RawFindings(abi.name)
    rel = release_numbers(release)
    shipped_nodes: set[str] = set()
    for anc in ancestors:
        rec = graph.record(anc, abi.name)
        if rec is not None:
            shipped_nodes.update(rec.node_names())
    for node in abi.node_names:
        tag = VersionTag.parse(node)
        if not tag.numbers:
            continue
        nums = tag.numbers[:3]
        if rel and nums > rel:
            sink.add(
                Rule.NODE_ABOVE_RELEASE,
                node,
                f"{node} is named for a release after {release}, the one being built",
            )
        if node in shipped_nodes:
            continue
        for anc in ancestors:
            if graph.record(anc, abi.name) is None:
                continue
            if nums <= release_numbers(anc):
                sink.add(
                    Rule.NODE_NAMED_FOR_SHIPPED_RELEASE,
                    node,
                    f"{node} is new, but release {anc} already shipped without it: "
                    f"programs needing {node} would accept {anc}",
                )
                break
    template = prof.private_node_for(abi.soname, upstream_version(release))
    if template is not None:
        private = [n for n in abi.node_names if prof.is_private(n)]
        if private and template not in private:
            sink.add(
                Rule.PRIVATE_NODE_MISNAMED,
                private[0],
                f"the private node is {', '.join(private)}; building "
                f"{release} should name it {template}",
            )
    return sink.findings


@dataclass(frozen=True, slots=True)
class ReleaseRow:
    """One line of ``graph show``: a release's library and what its incoming edges did."""

    release: str
    parents: tuple[str, ...]
    library: str
    symbols: int
    nodes: int
    newest_node: str | None
    added: int
    removed: int
    breaks: tuple[Finding, ...]  # errors/warnings on incoming edges (waivers applied)


def graph_summary(
    graph: ReleaseGraph, *, profile: str | None = None, apply: WaiverFn | None = None
) -> list[ReleaseRow]:
    """Every release in order with, per library, its size, growth and incoming breakage.

    Linear in the releases: each incoming edge compares only what changed along it
    (:func:`~elfaudit.graph.records.changed_parts`), and a node list shared by releases
    that did not change it is classified once.
    """
    rows: list[ReleaseRow] = []
    nodes_seen: dict[int, tuple[tuple[object, ...], list[str], str | None]] = {}
    exempt_seen: dict[int, tuple[Profile, bool]] = {}
    for rel in graph.releases():
        record = graph.release(rel)
        parents = tuple(graph.parents(rel))
        for lib in record.libraries:
            soname = lib.name
            prof = profile_for(lib.soname, profile)
            public, newest = _public_nodes(lib, prof, nodes_seen)
            exempt = exempt_seen.get(id(prof))
            if exempt is None or exempt[0] is not prof:
                exempt = exempt_seen[id(prof)] = (prof, _private_nodes_exempt(prof))
            quiet = prof.is_private if exempt[1] else None
            breaks: list[Finding] = []
            added = removed = 0
            for i, par in enumerate(parents):
                old_rec = graph.record(par, soname)
                if old_rec is None:
                    continue
                cut = changed_parts(old_rec, lib, quiet_node=quiet)
                if cut is None:  # nothing that a comparison could find differs
                    continue
                old, new = cut
                found = weigh(compare_abi(old, new, prof).findings, prof)
                if apply is not None and found:
                    found = list(apply(found, rel))
                breaks.extend(
                    f for f in found if f.severity is not Severity.INFO and f.waived is None
                )
                if i == 0:
                    # Symbols of unchanged names are in both: the pairs of the cut-down
                    # libraries differ exactly as the whole libraries' do.
                    new_names = {(s.name, s.version) for s in new.symbols}
                    old_names = {(s.name, s.version) for s in old.symbols}
                    added, removed = len(new_names - old_names), len(old_names - new_names)
            if not parents or all(graph.record(p, soname) is None for p in parents):
                added = len(lib.symbols)
            rows.append(
                ReleaseRow(
                    rel,
                    parents,
                    soname,
                    len(lib.symbols),
                    len(public),
                    newest,
                    added,
                    removed,
                    tuple(breaks),
                )
            )
    return rows


def _private_nodes_exempt(prof: Profile) -> bool:
    """Whether the profile drops every comparison finding about a private node (as the
    default tables do): then a private node's churn need not be compared at all."""
    return all(
        prof.severity_table(r.id)["private"] is None for r in Rule if r.value.family == "compare"
    )


def _public_nodes(
    lib: LibraryRecord,
    prof: Profile,
    seen: dict[int, tuple[tuple[object, ...], list[str], str | None]],
) -> tuple[list[str], str | None]:
    """The nodes of ``lib`` the profile calls public, and the newest of them."""
    got = seen.get(id(lib.nodes))
    if got is None or got[0][1] is not prof:
        names = [n for n in lib.node_names() if not prof.is_private(n)]
        newest = max(names, key=_tag) if names else None
        got = ((lib.nodes, prof), names, newest)
        seen[id(lib.nodes)] = got  # keeps the tuple alive, so its id stays unique
    names, newest = got[1], got[2]
    extra = [p.name for p in lib.private if not prof.is_private(p.name)]
    if extra:  # summarised as private when recorded, public under this profile
        names = names + extra
        newest = max(names, key=_tag)
    return names, newest


@lru_cache(maxsize=4096)
def _tag(node: str) -> VersionTag:
    return VersionTag.parse(node)
