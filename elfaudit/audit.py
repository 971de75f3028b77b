"""The library API behind each command: inputs in, a :class:`Report` out.

The CLI only parses arguments, calls one of these and renders the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from elfaudit.errors import InputError
from elfaudit.inputs import load_libraries
from elfaudit.model import Finding, LibraryABI, PrivateSummary, Report, Severity
from elfaudit.profiles import Profile, profile_for, waivers_path
from elfaudit.rules import Rule

if TYPE_CHECKING:
    from elfaudit.releases import ReleaseGraph


@dataclass(frozen=True, slots=True)
class WaiverOptions:
    files: tuple[str, ...] = ()  # extra waivers files (--waivers)
    profile_defaults: bool = True  # apply the profile's shipped waivers
    release: str | None = None  # the release being judged, for release-scoped waivers


def _apply_waivers(
    findings: list[Finding], profiles: Sequence[Profile], opts: WaiverOptions
) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    """Mark waived findings; return them with the user's waivers that matched nothing.

    The profile's shipped waivers record history (a symbol misplaced years ago) and so
    match only when that history is judged: they are never reported as unused. Waivers
    from ``--waivers`` files are the project's own and are reported when stale.
    """
    from elfaudit import waivers as wv

    own = [w for p in opts.files for w in wv.load_waivers(p)]
    shipped: list[wv.Waiver] = []
    if opts.profile_defaults:
        seen: set[str] = set()
        for prof in profiles:
            p = waivers_path(prof)
            if p is not None and p not in seen:
                seen.add(p)
                shipped.extend(wv.load_waivers(p))
    if not own and not shipped:
        return tuple(findings), ()
    applied, unused = wv.apply_waivers(findings, own + shipped, release=opts.release)
    stale = tuple(wv.describe(w) for w in unused if w in own)
    return tuple(applied), stale


def run_dump(paths: Sequence[str]) -> list[LibraryABI]:
    return [abi for p in paths for abi in load_libraries(p)]


def run_check(
    lib_paths: Sequence[str],
    script_paths: Sequence[str],
    *,
    profile: str | None = None,
    private_node: str | None = None,
    waivers: WaiverOptions = WaiverOptions(),
) -> Report:
    """Binaries against the version scripts they were built from."""
    from elfaudit.check import check_library
    from elfaudit.symfile import load_scripts

    libs = run_dump(lib_paths)
    findings: list[Finding] = []
    profiles: list[Profile] = []
    assigned = assign_scripts(libs, script_paths)
    for abi in libs:
        prof = profile_for(abi.soname, profile)
        profiles.append(prof)
        node = private_node or _private_node_of(abi, prof)
        mine = assigned[abi.name]
        if not mine:
            findings.append(
                Finding(
                    Rule.NODE_UNEXPECTED.id, Severity.ERROR, abi.name, None, None,
                    f"none of the given scripts is for {abi.name} (no listed symbol is "
                    "exported by it)",
                )
            )
            continue
        script = load_scripts(mine, node)
        findings.extend(check_library(abi, script, prof))
    applied, stale = _apply_waivers(findings, profiles, waivers)
    return Report(
        "check", tuple(a.name for a in libs), applied, unused_waivers=stale,
        extra={"profiles": sorted({p.name for p in profiles})},
    )


def assign_scripts(libs: Sequence[LibraryABI], script_paths: Sequence[str]) -> dict[str, list[str]]:
    """Which scripts each library was built from.

    With one library, all of them. With several (a package: libvirt0 has four), each
    script goes to the library exporting most of the names it lists, so
    `check libvirt0.deb --script ...` can take every script of the source tree at once.
    """
    if len(libs) <= 1:
        return {a.name: list(script_paths) for a in libs}
    from elfaudit import symfile

    out: dict[str, list[str]] = {a.name: [] for a in libs}
    exported = {a.name: {s.name for s in a.symbols} for a in libs}
    for path in script_paths:
        text = symfile.read_text(path)
        if symfile.is_private_fragment(text):
            names = {e.pattern for e in symfile.parse_private_fragment(text, path)}
        else:
            script = symfile.parse_script_text(text, path)
            names = {e.pattern for n in script.nodes for e in n.globals if not e.is_wildcard}
        best = max(libs, key=lambda a: len(names & exported[a.name]))
        if names & exported[best.name]:
            out[best.name].append(path)
    return out


def _private_node_of(abi: LibraryABI, prof: Profile) -> str | None:
    """The private node the build generated: the binary's own private node, if any."""
    nodes = [n for n in abi.node_names if prof.is_private(n)]
    return nodes[-1] if nodes else None


def pair_by_soname(
    old: list[LibraryABI], new: list[LibraryABI]
) -> tuple[list[tuple[LibraryABI, LibraryABI]], list[LibraryABI], list[LibraryABI]]:
    """Pair libraries the way abipkgdiff does: by SONAME (one each: pair them anyway)."""
    if len(old) == 1 and len(new) == 1:
        return [(old[0], new[0])], [], []
    new_by = {a.name: a for a in new}
    pairs, gone = [], []
    for o in old:
        n = new_by.pop(o.name, None)
        if n is None:
            gone.append(o)
        else:
            pairs.append((o, n))
    return pairs, gone, sorted(new_by.values(), key=lambda a: a.name)


def compare_sets(
    old: list[LibraryABI],
    new: list[LibraryABI],
    *,
    profile: str | None = None,
    show_private: bool = False,
) -> tuple[list[Finding], list[PrivateSummary], list[Profile]]:
    from elfaudit.compare import compare_abi

    pairs, gone, added = pair_by_soname(old, new)
    findings: list[Finding] = []
    private: list[PrivateSummary] = []
    profiles: list[Profile] = []
    for o, n in pairs:
        prof = profile_for(n.soname, profile)
        profiles.append(prof)
        result = compare_abi(o, n, prof, show_private=show_private)
        findings.extend(result.findings)
        if result.private is not None:
            private.append(result.private)
    findings.extend(
        Finding(
            Rule.LIBRARY_REMOVED.id, Severity.ERROR, o.name, None, None,
            f"{o.name} is in the old set but not in the new one",
        )
        for o in gone
    )
    findings.extend(
        Finding(
            Rule.LIBRARY_ADDED.id, Severity.INFO, n.name, None, None,
            f"{n.name} is new in the new set",
        )
        for n in added
    )
    return findings, private, profiles


def run_compare(
    old_path: str,
    new_path: str,
    *,
    profile: str | None = None,
    show_private: bool = False,
    waivers: WaiverOptions = WaiverOptions(),
) -> Report:
    """Release to release (files, snapshots, packages or trees; paired by SONAME)."""
    old, new = load_libraries(old_path), load_libraries(new_path)
    findings, private, profiles = compare_sets(
        old, new, profile=profile, show_private=show_private
    )
    applied, stale = _apply_waivers(findings, profiles, waivers)
    names = sorted({a.name for a in old} | {a.name for a in new})
    return Report(
        "compare", tuple(names), applied, tuple(private), unused_waivers=stale,
        extra={"old": old_path, "new": new_path},
    )


__all__ = ["InputError", "WaiverOptions", "run_check", "run_compare", "run_dump"]


# ---------------------------------------------------------------------------- release graph

GRAPH_ENV = "ELFAUDIT_GRAPH"
LOCAL_GRAPH = "elfaudit-graph.json"


def shipped_graph_path() -> str:
    """The graph of real libvirt releases shipped inside the package."""
    from importlib import resources

    return str(resources.files("elfaudit") / "data" / "graphs" / "libvirt-debian.json")


def resolve_graph(option: str | None, *, for_write: bool = False) -> str:
    """Which graph file a command uses.

    ``--graph`` wins, then ``$ELFAUDIT_GRAPH``, then ``./elfaudit-graph.json``. Reading
    commands fall back to the shipped libvirt graph when none of those exists; recording
    commands write ``./elfaudit-graph.json`` (seeded from the shipped graph on first use,
    so the history carries over) rather than into the installed package.
    """
    import os

    if option:
        return option
    env = os.environ.get(GRAPH_ENV)
    if env:
        return env
    if for_write or os.path.exists(LOCAL_GRAPH):
        return LOCAL_GRAPH
    return shipped_graph_path()


def load_graph(path: str, *, missing_ok: bool = False) -> ReleaseGraph:
    from elfaudit.releases import ReleaseGraph

    return ReleaseGraph.load(path, missing_ok=missing_ok)


def infer_release(paths: Sequence[str]) -> str | None:
    """The upstream version of a single Debian package given as input (``9.0.0``)."""
    debs = [p for p in paths if p.endswith(".deb")]
    if len(debs) != 1 or len(paths) != 1:
        return None
    from elfaudit.packages import deb_metadata

    version = deb_metadata(debs[0]).get("Version", "")
    upstream = version.split(":", 1)[-1].rsplit("-", 1)[0]
    return upstream.split("+", 1)[0].split("~", 1)[0] or None


def _need_release(release: str | None, paths: Sequence[str]) -> str:
    rel = release or infer_release(paths)
    if rel is None:
        raise InputError(
            paths[0] if paths else "-",
            "no --release given, and it cannot be inferred (only from a single .deb)",
        )
    return rel


def run_graph_check(
    lib_paths: Sequence[str],
    *,
    release: str | None,
    parents: Sequence[str] | None,
    graph_path: str | None,
    profile: str | None = None,
    waivers: WaiverOptions = WaiverOptions(),
) -> Report:
    """A new build against every release before it in the graph."""
    from dataclasses import replace

    from elfaudit.history import graph_check

    rel = _need_release(release, lib_paths)
    path = resolve_graph(graph_path)
    graph = load_graph(path)
    libs = run_dump(lib_paths)
    verdict = graph_check(graph, libs, rel, parents or None, profile=profile)
    profiles = [profile_for(a.soname, profile) for a in libs]
    applied, stale = _apply_waivers(
        list(verdict.findings), profiles, replace(waivers, release=waivers.release or rel)
    )
    return Report(
        "graph-check", tuple(a.name for a in libs), applied, unused_waivers=stale,
        extra={
            "release": rel, "graph": path, "parents": list(verdict.parents),
            "ancestors": list(verdict.ancestors),
        },
    )


def record_release(
    lib_paths: Sequence[str],
    *,
    release: str | None,
    parents: Sequence[str] | None,
    graph_path: str | None,
    profile: str | None = None,
    replace_existing: bool = False,
    note: str | None = None,
) -> tuple[str, str, list[str]]:
    """Add a release to a graph file (locked, atomic). Returns (graph path, release, parents)."""
    import os
    import shutil

    from elfaudit.history import default_parents
    from elfaudit.releases import ReleaseGraph

    rel = _need_release(release, lib_paths)
    libs = run_dump(lib_paths)
    path = resolve_graph(graph_path, for_write=True)
    if graph_path is None and path == LOCAL_GRAPH and not os.path.exists(path):
        shutil.copyfile(shipped_graph_path(), path)
    prof = profile_for(libs[0].soname, profile) if libs else profile_for(None, profile)
    source = ", ".join(lib_paths)
    with ReleaseGraph.edit(path) as graph:
        chosen = list(parents) if parents else default_parents(graph, rel)
        graph.add_release(
            rel, libs, chosen, source=source, note=note, is_private=prof.is_private,
            replace=replace_existing,
        )
    return path, rel, chosen


def run_gate(
    lib_paths: Sequence[str],
    script_paths: Sequence[str],
    *,
    release: str | None,
    parents: Sequence[str] | None,
    graph_path: str | None,
    profile: str | None = None,
    private_node: str | None = None,
    waivers: WaiverOptions = WaiverOptions(),
) -> Report:
    """The release manager's one command: scripts check plus history check, one report."""
    from dataclasses import replace

    rel = _need_release(release, lib_paths)
    opts = replace(waivers, release=waivers.release or rel)
    checked = run_check(
        lib_paths, script_paths, profile=profile, private_node=private_node, waivers=opts
    )
    history = run_graph_check(
        lib_paths, release=rel, parents=parents, graph_path=graph_path, profile=profile,
        waivers=opts,
    )
    stale = tuple(sorted(set(checked.unused_waivers) & set(history.unused_waivers)))
    return Report(
        "gate", history.libraries, checked.findings + history.findings,
        unused_waivers=stale, extra=dict(history.extra),
    )


def graph_show_table(graph_path: str | None, *, profile: str | None, fmt: str) -> str:
    from elfaudit.history import graph_summary
    from elfaudit.render import render_table

    path = resolve_graph(graph_path)
    graph = load_graph(path)

    def apply(found: list[Finding], release: str) -> tuple[Finding, ...]:
        profiles = [profile_for(f.library, profile) for f in found[:1]]
        return _apply_waivers(found, profiles, WaiverOptions(release=release))[0]

    rows = graph_summary(graph, profile=profile, apply=apply)
    table = [
        (
            r.release, ", ".join(r.parents) or "-", r.library, r.symbols, r.nodes,
            r.newest_node or "-", f"+{r.added}" if r.added else "0",
            f"-{r.removed}" if r.removed else "0",
            "; ".join(f"{f.rule} {f.symbol or f.version or ''}".strip() for f in r.breaks[:3])
            + (f" (+{len(r.breaks) - 3} more)" if len(r.breaks) > 3 else "")
            if r.breaks else "-",
        )
        for r in rows
    ]
    headers = ("Release", "Parents", "Library", "Symbols", "Nodes", "Newest node", "Added",
               "Removed", "Breaks")
    heads = ", ".join(graph.heads())
    return render_table(
        f"release graph {path}: {len(graph)} releases", headers, table, fmt,
        footer=[f"heads: {heads}"] if fmt == "text" else [], kind="elfaudit-graph-show",
    )


def introduced_table(
    symbol: str, graph_path: str | None, *, library: str | None, fmt: str
) -> tuple[str, bool]:
    from elfaudit.render import render_table

    path = resolve_graph(graph_path)
    found = load_graph(path).introduced(symbol, library)
    rows = [(i.symbol, i.library, i.node or "-", i.release) for i in found]
    note = [] if found else [f"{symbol} is not a public symbol of any release in {path}"]
    return (
        render_table(None, ("Symbol", "Library", "Node", "Release"), rows, fmt, footer=note,
                     kind="elfaudit-introduced"),
        bool(found),
    )


def export_graph(graph_path: str | None, fmt: str) -> str:
    graph = load_graph(resolve_graph(graph_path))
    if fmt == "dot":
        return graph.to_dot()
    if fmt == "graphml":
        return graph.to_graphml()
    return graph.dumps()


def plot_graph(graph_path: str | None, output: str, *, title: str | None) -> None:
    graph = load_graph(resolve_graph(graph_path))
    if not output.endswith((".svg", ".png")):
        raise InputError(output, "the picture must be .svg or .png")
    try:
        graph.plot(output, title=title)
    except ImportError as exc:
        raise InputError(output, f"plotting needs matplotlib ({exc})") from exc
