"""The library API behind each command: inputs in, a :class:`Report` out.

The CLI only parses arguments, calls one of these and renders the result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from elfaudit.errors import InputError
from elfaudit.inputs import kind_of, load_all, load_libraries
from elfaudit.model import Finding, LibraryABI, PrivateSummary, Report, Severity
from elfaudit.profiles import Profile, profile_for, waivers_path
from elfaudit.rules import Rule

if TYPE_CHECKING:
    from elfaudit.apixml import ApiDescription
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
    return load_all(paths)


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
                    Rule.NODE_UNEXPECTED.id,
                    Severity.ERROR,
                    abi.name,
                    None,
                    None,
                    f"none of the given scripts is for {abi.name} (no listed symbol is "
                    "exported by it)",
                )
            )
            continue
        script = load_scripts(mine, node)
        findings.extend(check_library(abi, script, prof))
    applied, stale = _apply_waivers(findings, profiles, waivers)
    return Report(
        "check",
        tuple(a.name for a in libs),
        applied,
        unused_waivers=stale,
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
    provides: bool = False,
) -> tuple[list[Finding], list[PrivateSummary], list[Profile]]:
    """Pair the two sets by SONAME and compare each pair; libraries gone or new.

    With ``provides`` (package-level inputs), also ``provides-removed`` for every RPM-style
    capability the old set offered and the new one does not.
    """
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
            Rule.LIBRARY_REMOVED.id,
            Severity.ERROR,
            o.name,
            None,
            None,
            f"{o.name} is in the old set but not in the new one",
        )
        for o in gone
    )
    findings.extend(
        Finding(
            Rule.LIBRARY_ADDED.id,
            Severity.INFO,
            n.name,
            None,
            None,
            f"{n.name} is new in the new set",
        )
        for n in added
    )
    if provides:
        from elfaudit.provides import compare_provides

        forced = profile_for(None, profile) if profile else None
        findings.extend(compare_provides(old, new, profile=forced))
    return findings, private, profiles


def load_pair(old_path: str, new_path: str) -> tuple[list[LibraryABI], list[LibraryABI]]:
    """Both sides at once: unpacking a package is mostly xz/zstd/zlib work, which runs
    without the GIL, so two threads use both cores."""
    if "package" not in (kind_of(old_path), kind_of(new_path)):
        return load_libraries(old_path), load_libraries(new_path)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        old = pool.submit(load_libraries, old_path)
        new = pool.submit(load_libraries, new_path)
        return old.result(), new.result()


def run_compare(
    old_path: str,
    new_path: str,
    *,
    profile: str | None = None,
    show_private: bool = False,
    waivers: WaiverOptions = WaiverOptions(),
) -> Report:
    """Release to release (files, snapshots, packages or trees; paired by SONAME)."""
    from elfaudit.inputs import kind_of

    old, new = load_pair(old_path, new_path)
    # Packages and trees (or several libraries) are judged as rpm sees them too: Provides.
    package_level = (
        len(old) > 1
        or len(new) > 1
        or any(kind_of(p) in ("package", "dir") for p in (old_path, new_path))
    )
    findings, private, profiles = compare_sets(
        old, new, profile=profile, show_private=show_private, provides=package_level
    )
    applied, stale = _apply_waivers(findings, profiles, waivers)
    names = sorted({a.name for a in old} | {a.name for a in new})
    return Report(
        "compare",
        tuple(names),
        applied,
        tuple(private),
        unused_waivers=stale,
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
    findings = list(verdict.findings)
    findings.extend(_libraries_gone(graph, verdict.parents, libs, lib_paths))
    profiles = [profile_for(a.soname, profile) for a in libs]
    applied, stale = _apply_waivers(
        findings, profiles, replace(waivers, release=waivers.release or rel)
    )
    return Report(
        "graph-check",
        tuple(a.name for a in libs),
        applied,
        unused_waivers=stale,
        extra={
            "release": rel,
            "graph": path,
            "parents": list(verdict.parents),
            "ancestors": list(verdict.ancestors),
        },
    )


def _libraries_gone(
    graph: ReleaseGraph,
    parents: Sequence[str],
    libs: Sequence[LibraryABI],
    lib_paths: Sequence[str],
) -> list[Finding]:
    """A whole build (package or tree) that lacks a library its parent release shipped."""
    from elfaudit.inputs import kind_of

    if not any(kind_of(p) in ("package", "dir") for p in lib_paths):
        return []  # single libraries given: the others are simply not being judged
    have = {a.name for a in libs}
    gone: dict[str, str] = {}
    for parent in parents:
        for soname in graph.release(parent).library_names:
            if soname not in have:
                gone.setdefault(soname, parent)
    return [
        Finding(
            Rule.LIBRARY_REMOVED.id,
            Severity.ERROR,
            soname,
            None,
            None,
            f"{soname} shipped in release {parent} but is not in this build",
        )
        for soname, parent in sorted(gone.items())
    ]


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

    from elfaudit.history import default_parents
    from elfaudit.releases import ReleaseGraph

    rel = _need_release(release, lib_paths)
    libs = run_dump(lib_paths)
    path = resolve_graph(graph_path, for_write=True)
    seed = graph_path is None and path == LOCAL_GRAPH
    prof = profile_for(libs[0].soname, profile) if libs else profile_for(None, profile)
    source = ", ".join(lib_paths)
    with ReleaseGraph.edit(path) as graph:
        # Seed under the lock: a copy made before it raced with concurrent recorders
        # (one truncated the file another had just saved, losing that release).
        if seed and len(graph) == 0 and not os.path.exists(path):
            shipped = load_graph(shipped_graph_path())
            for name in shipped.releases():
                r = shipped.release(name)
                graph.add_records(
                    name,
                    r.libraries,
                    r.parents,
                    source=r.source,
                    note=r.note,
                    recorded_at=r.recorded_at,
                )
        if parents:
            chosen = list(parents)
        elif replace_existing and rel in graph:  # a re-recording keeps its place
            chosen = graph.parents(rel)
        else:
            chosen = default_parents(graph, rel)
        graph.add_release(
            rel,
            libs,
            chosen,
            source=source,
            note=note,
            is_private=prof.is_private,
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
        lib_paths,
        release=rel,
        parents=parents,
        graph_path=graph_path,
        profile=profile,
        waivers=opts,
    )
    stale = tuple(sorted(set(checked.unused_waivers) & set(history.unused_waivers)))
    return Report(
        "gate",
        history.libraries,
        checked.findings + history.findings,
        unused_waivers=stale,
        extra=dict(history.extra),
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
            r.release,
            ", ".join(r.parents) or "-",
            r.library,
            r.symbols,
            r.nodes,
            r.newest_node or "-",
            f"+{r.added}" if r.added else "0",
            f"-{r.removed}" if r.removed else "0",
            "; ".join(f"{f.rule} {f.symbol or f.version or ''}".strip() for f in r.breaks[:3])
            + (f" (+{len(r.breaks) - 3} more)" if len(r.breaks) > 3 else "")
            if r.breaks
            else "-",
        )
        for r in rows
    ]
    headers = (
        "Release",
        "Parents",
        "Library",
        "Symbols",
        "Nodes",
        "Newest node",
        "Added",
        "Removed",
        "Breaks",
    )
    heads = ", ".join(graph.heads())
    return render_table(
        f"release graph {path}: {len(graph)} releases",
        headers,
        table,
        fmt,
        footer=[f"heads: {heads}"] if fmt == "text" else [],
        kind="elfaudit-graph-show",
    )


def introduced_from_nodes(
    symbol: str, source: str, *, library: str | None, fmt: str, profile: str | None = None
) -> tuple[str, bool]:
    """When a symbol was introduced, read from a binary's or script's node chain alone
    (``LIBVIRT_3.1.0`` -> 3.1.0), corrected by the profile's known late additions."""
    from elfaudit.releases import introduced_by_nodes
    from elfaudit.render import render_table

    if source.endswith((".syms", ".map", ".version", ".ver", ".lds")):
        from elfaudit.symfile import parse_script

        targets: list[tuple[str | None, object]] = [(library, parse_script(source))]
    else:
        targets = [(a.name, a) for a in load_libraries(source)]
    rows = []
    for soname, item in targets:
        if library is not None and soname not in (None, library):
            continue
        prof = profile_for(soname, profile)
        late = prof.late_additions_map()
        for origin in introduced_by_nodes(item, prof.is_private):  # type: ignore[arg-type]
            if origin.symbol != symbol:
                continue
            really = late.get((soname or "", symbol))
            note = "on the node chain" if origin.on_chain else "off the node chain"
            if really:
                note = f"added late to {origin.node}: first shipped in {really}"
            rows.append((symbol, soname or "-", origin.node, really or origin.release or "?", note))
    missing = [] if rows else [f"{symbol} is not a public versioned symbol of {source}"]
    text = render_table(
        None,
        ("Symbol", "Library", "Node", "Release", "Evidence"),
        rows,
        fmt,
        footer=missing,
        kind="elfaudit-introduced",
    )
    return text, bool(rows)


def introduced_table(
    symbol: str, graph_path: str | None, *, library: str | None, fmt: str
) -> tuple[str, bool]:
    from elfaudit.render import render_table

    path = resolve_graph(graph_path)
    graph = load_graph(path)
    found = graph.introduced(symbol, library)
    rows = [(i.symbol, i.library, i.node or "-", i.release) for i in found]
    note = [] if found else [f"{symbol} is not a public symbol of any release in {path}"]
    roots = sorted({i.release for i in found if not graph.parents(i.release)})
    if roots:
        note.append(
            f"{', '.join(roots)} begins the recorded history, so the symbol may be older "
            "(--from LIBRARY reads its node chain)"
        )
    return (
        render_table(
            None,
            ("Symbol", "Library", "Node", "Release"),
            rows,
            fmt,
            footer=note,
            kind="elfaudit-introduced",
        ),
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


# ---------------------------------------------------------------------------- packagers


def late_additions(graph: ReleaseGraph | None, profile: Profile) -> dict[tuple[str, str], str]:
    """(soname, symbol) -> release that really added a symbol to an already-shipped node.

    From the profile's records (history before the graph begins) and from the graph: a
    symbol first seen in release R, in a node an ancestor of R had shipped without it.
    """
    out = profile.late_additions_map()
    if graph is not None:
        from elfaudit.history import upstream_version
        from elfaudit.model import release_key

        for (soname, symbol), rel in graph_late_additions(graph).items():
            mine = out.get((soname, symbol))
            up = upstream_version(rel)
            if mine is None or release_key(up) > release_key(mine):
                out[(soname, symbol)] = up
    return out


def graph_late_additions(graph: ReleaseGraph) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for rel in graph.releases():
        ancestors = graph.ancestors(rel)
        if not ancestors:
            continue
        record = graph.release(rel)
        for soname in record.library_names:
            shipped = graph.released_nodes(soname, ancestors)
            lib = graph.record(rel, soname)
            assert lib is not None
            for node, names in lib.node_symbols().items():
                if node in shipped:
                    for name in names - shipped[node]:
                        out.setdefault((soname, name), rel)
    return out


def _graph_or_none(graph_path: str | None) -> ReleaseGraph | None:
    path = resolve_graph(graph_path)
    return load_graph(path)


def run_symbols_file(
    lib_paths: Sequence[str],
    *,
    package: str,
    graph_path: str | None,
    profile: str | None = None,
    build_depends_package: str | None = None,
    minver_fallback: str | None = None,
) -> str:
    """A Debian symbols file whose minimal versions come from nodes, profile and graph."""
    from elfaudit import debsymbols

    libs = run_dump(lib_paths)
    prof = profile_for(libs[0].soname if libs else None, profile)
    graph = _graph_or_none(graph_path)
    return debsymbols.generate_symbols_file(
        libs,
        package,
        minver=debsymbols.node_minver(late_additions(graph, prof)),
        build_depends_package=build_depends_package,
        is_private=prof.is_private,
        fallback_minver=minver_fallback or infer_release(lib_paths),
    )


def run_symbols_check(
    lib_paths: Sequence[str],
    symbols_path: str | None,
    *,
    graph_path: str | None,
    profile: str | None = None,
    waivers: WaiverOptions = WaiverOptions(),
) -> Report:
    """An existing symbols file (or a .deb's own DEBIAN/symbols) against the binaries."""
    from elfaudit import debsymbols

    libs = run_dump(lib_paths)
    prof = profile_for(libs[0].soname if libs else None, profile)
    if symbols_path is None:
        debs = [p for p in lib_paths if p.endswith(".deb")]
        if len(debs) != 1:
            raise InputError(
                lib_paths[0], "--check needs a symbols file, or a single .deb carrying one"
            )
        from elfaudit.packages import read_deb_control_file

        raw = read_deb_control_file(debs[0], "symbols")
        if raw is None:
            raise InputError(debs[0], "the package has no DEBIAN/symbols control file")
        where = f"{debs[0]}:DEBIAN/symbols"
        sf = debsymbols.parse_symbols_file(raw.decode("utf-8", "replace"), where)
    else:
        sf = debsymbols.load_symbols_file(symbols_path)
        where = symbols_path
    graph = _graph_or_none(graph_path)
    findings = debsymbols.check_symbols_file(
        sf, libs, minver=debsymbols.node_minver(late_additions(graph, prof)), profile=prof
    )
    applied, stale = _apply_waivers(findings, [prof], waivers)
    return Report(
        "symbols-file",
        tuple(a.name for a in libs),
        applied,
        unused_waivers=stale,
        extra={"symbols_file": where},
    )


def provides_table(lib_paths: Sequence[str], *, requires: bool, fmt: str) -> str:
    from elfaudit import provides
    from elfaudit.render import render_table

    rows: list[tuple[str, str, str]] = []
    for abi in run_dump(lib_paths):
        rows.extend((abi.name, "Provides", cap) for cap in provides.provides(abi))
        if requires:
            rows.extend((abi.name, "Requires", cap) for cap in provides.requires(abi))
    return render_table(
        None, ("Library", "Kind", "Capability"), rows, fmt, kind="elfaudit-provides"
    )


def run_needs(
    program_paths: Sequence[str],
    *,
    library: str | None,
    release: str | None,
    graph_path: str | None,
    fmt: str,
) -> tuple[str, bool]:
    """Which release a program needs at least, and whether a library or release has it."""
    from elfaudit import needs
    from elfaudit.history import upstream_version
    from elfaudit.model import VersionTag, release_key
    from elfaudit.render import render_table

    graph = _graph_or_none(graph_path) if (release or graph_path) else None
    targets: dict[str, LibraryABI] = {}
    if library is not None:
        targets = {a.name: a for a in load_libraries(library)}
    elif release is not None:
        assert graph is not None
        graph.release(release)  # GraphError if unknown
        for soname in graph.release(release).library_names:
            abi = graph.library(release, soname)
            assert abi is not None
            targets[soname] = abi
    rows = []
    ok = True
    for program in run_dump(program_paths):

        def node_to_release(soname: str, node: str) -> str | None:
            tag = VersionTag.parse(node)
            return ".".join(map(str, tag.numbers)) if tag.numbers else None

        result = needs.minimum_release(program, node_to_release=node_to_release)
        for lib in result.libraries:
            prof = profile_for(lib.soname)
            late = late_additions(graph, prof)
            release_needed = lib.release
            imported = {i.name for i in program.imports if i.file == lib.soname}
            for sym in imported:
                rel = late.get((lib.soname, sym))
                if rel and (
                    release_needed is None or release_key(rel) > release_key(release_needed)
                ):
                    release_needed = upstream_version(rel)
            verdict = "-"
            target = targets.get(lib.soname)
            if target is not None:
                lacking = needs.satisfies(program, target)
                verdict = "satisfied" if not lacking else "MISSING: " + ", ".join(lacking)
                ok = ok and not lacking
            elif targets:
                verdict = "not in the given library set"
            rows.append(
                (
                    program.name,
                    lib.soname,
                    lib.newest,
                    release_needed or "?",
                    len(lib.nodes),
                    verdict,
                )
            )
    headers = ("Program", "Library", "Newest node", "Minimum release", "Nodes", "Satisfied")
    return render_table(None, headers, rows, fmt, kind="elfaudit-needs"), ok


def run_scan(
    paths: Sequence[str],
    *,
    jobs: int | None,
    progress: Callable[[int, int, str], None] | None = None,
    waivers: WaiverOptions = WaiverOptions(),
) -> Report:
    from elfaudit.model import Problem
    from elfaudit.scan import expand_inputs, scan

    # A folder holding nothing to audit is a problem, not a clean scan (a wrong path in CI
    # must not pass): expand each argument here, then scan the expanded inputs.
    expanded: list[str] = []
    empty: list[Problem] = []
    for p in paths:
        got = expand_inputs([p])
        if not got:
            empty.append(Problem(p, "no shared libraries or packages found in this directory"))
        expanded.extend(got)
    result = scan(expanded, jobs=jobs, progress=progress)
    report = result.report("scan")
    profiles = [profile_for(name) for name in sorted(set(report.libraries))]
    applied, stale = _apply_waivers(list(report.findings), profiles, waivers)
    problems = tuple(empty) + report.problems
    return Report(
        "scan",
        report.libraries,
        applied,
        problems=problems,
        unused_waivers=stale,
        # Not the worker count: the report must not depend on --jobs or on the machine.
        extra={"inputs": len(result.inputs)},
    )


API_XML_DIR = "usr/share/libvirt/api/"


def _api_descriptions(path: str) -> list[ApiDescription]:
    from elfaudit.apixml import load_api

    if path.endswith(".xml"):
        return [load_api(path)]
    from elfaudit.packages import Kind, read_members

    def wanted(name: str) -> bool:
        return name.startswith(API_XML_DIR) and name.endswith("-api.xml")

    out = [
        load_api(m.data, f"{path}:/{m.name}")
        for m in read_members(path, want=wanted, elf_only=False)
        if m.kind is Kind.FILE and m.data is not None
    ]
    if not out:
        raise InputError(path, f"no API description (/{API_XML_DIR}*-api.xml) in it")
    return out


def run_api_compare(
    old_path: str,
    new_path: str,
    *,
    libraries: Sequence[str] = (),
    waivers: WaiverOptions = WaiverOptions(),
) -> Report:
    """libvirt-api.xml (or libvirt-dev packages) release to release, and optionally each
    description against the library built with it (``libraries``: files or packages)."""
    from elfaudit.apicheck import WEAK_APIS, check_api_against_library, compare_api

    old = {d.name: d for d in _api_descriptions(old_path)}
    new = {d.name: d for d in _api_descriptions(new_path)}
    findings: list[Finding] = []
    for name, n in sorted(new.items()):
        o = old.get(name)
        if o is not None:
            findings.extend(compare_api(o, n, weak=name in WEAK_APIS))
    findings.extend(
        Finding(
            Rule.API_FUNCTION_REMOVED.id,
            Severity.ERROR,
            o.library,
            None,
            None,
            f"the API description {name} is gone",
        )
        for name, o in sorted(old.items())
        if name not in new
    )
    libs = {a.name: a for p in libraries for a in load_libraries(p)}
    for name, n in sorted(new.items()):
        abi = libs.get(n.library)
        if abi is not None:
            findings.extend(check_api_against_library(n, abi, weak=name in WEAK_APIS))
    profiles = [profile_for(d.library) for d in new.values()]
    applied, stale = _apply_waivers(findings, profiles, waivers)
    return Report(
        "api-compare",
        tuple(sorted(d.library for d in new.values())),
        applied,
        unused_waivers=stale,
        extra={"old": old_path, "new": new_path},
    )
