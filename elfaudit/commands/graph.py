"""The release-graph commands: ``graph record|check|show|introduced|export|plot``.

Which graph file is used, recording releases (locked, atomic), judging a build against
its history, and the queries `graph show`, `graph introduced` and `graph export` answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from elfaudit.base.datafiles import data_path
from elfaudit.base.errors import InputError, NoLibrariesError
from elfaudit.commands.dump import run_dump
from elfaudit.commands.waiving import WaiverOptions, apply_waivers
from elfaudit.model.abi import LibraryABI
from elfaudit.model.guarantees import ReleaseFiles, SectionFacts, SectionResult
from elfaudit.model.report import Finding, Report, Severity
from elfaudit.model.tables import Recorded, Table
from elfaudit.policy.profiles import Profile, profile_for
from elfaudit.policy.rules import Rule
from elfaudit.readers.inputs import load_libraries

if TYPE_CHECKING:
    from elfaudit.graph.dag import ReleaseGraph
    from elfaudit.graph.judge import GraphVerdict

GRAPH_ENV = "ELFAUDIT_GRAPH"
LOCAL_GRAPH = "elfaudit-graph.json"


def shipped_graph_path() -> str:
    """The graph of real libvirt releases shipped inside the package."""
    return data_path("graphs", "libvirt-debian.json")


SHIPPED_PROFILE = "libvirt"  # the project whose history the shipped graph holds


def shipped_serves(sonames: Sequence[str | None]) -> bool:
    """Whether the shipped graph is the history of these libraries: graphs are per
    project, and the shipped one is libvirt's (the libvirt profile's sonames), so a
    library of any other project starts a graph of its own."""
    from elfaudit.policy.profiles import load_profile

    mine = set(load_profile(SHIPPED_PROFILE).sonames)
    return any(s in mine for s in sonames)


def resolve_graph(option: str | None, *, for_write: bool = False) -> str:
    """Which graph file a command uses.

    ``--graph`` wins, then ``$ELFAUDIT_GRAPH``, then ``./elfaudit-graph.json``. Reading
    commands fall back to the shipped libvirt graph when none of those exists (the
    commands judging a build use it only for libvirt's libraries:
    :func:`shipped_serves`); recording commands write ``./elfaudit-graph.json`` (seeded
    from the shipped graph on first use when they record libvirt, so its history
    carries over; empty for any other project) rather than into the installed package.
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
    from elfaudit.graph.dag import ReleaseGraph

    return ReleaseGraph.load(path, missing_ok=missing_ok)


def infer_release(paths: Sequence[str]) -> str | None:
    """The upstream version of a single Debian package given as input (``9.0.0``), or of
    a directory of one release's packages (its ``.deb`` files all of one version)."""
    import os

    if len(paths) != 1:
        return None
    from elfaudit.readers.packages import deb_metadata, debian_upstream

    path = paths[0]
    if path.endswith(".deb"):
        return debian_upstream(deb_metadata(path).get("Version", "")) or None
    if not os.path.isdir(path):
        return None
    try:
        debs = sorted(n for n in os.listdir(path) if n.endswith(".deb"))
    except OSError:
        return None
    versions = {n.split("_")[1] for n in debs if n.count("_") == 2}
    if len(versions) != 1:
        return None
    return debian_upstream(deb_metadata(os.path.join(path, debs[0])).get("Version", "")) or None


@dataclass(frozen=True, slots=True)
class Build:
    """What a command judging or recording a release read: its libraries, and when the
    input is a whole package set (one directory of packages, or a root tree), each
    section's facts (``whole``: a package set was given, so sections are judged)."""

    libs: list[LibraryABI]
    sections: dict[str, SectionFacts] = field(default_factory=dict)
    whole: bool = False
    files: ReleaseFiles | None = None  # a package set's files (its API descriptions...)


def load_build(paths: Sequence[str]) -> Build:
    """The libraries of ``paths`` (as ``dump`` reads them) and, for one directory holding a
    release's packages or its root tree, the facts of every section of libvirt's support
    page (:func:`elfaudit.analysis.sections.release_facts`): the libraries of a directory
    of packages are the libvirt libraries among them (``libvirt*.so.N``), else every
    library of the packages that ship one."""
    from elfaudit.readers.release_files import is_release_set

    if len(paths) != 1 or not is_release_set(paths[0]):
        return Build(run_dump(paths))
    import os

    from elfaudit.analysis.sections import release_facts
    from elfaudit.readers.release_files import libraries, read_release

    path = paths[0]
    rel = read_release(path, allow_empty=True)
    if rel.kind == "tree":
        libs = run_dump(paths)
    else:
        libs = libraries(rel, digest=True)
        if not libs:
            libs = _package_libraries([os.path.join(path, p) for p in rel.packages], path)
    return Build(libs, release_facts(rel.files), whole=True, files=rel.files)


def _package_libraries(packages: Sequence[str], where: str) -> list[LibraryABI]:
    """Every library of the packages that ship one (the others are skipped), each package
    read once."""
    libs = [abi for p in packages for abi in _libraries_if_any(p)]
    if not libs:
        raise InputError(where, "no shared libraries in any package of this directory")
    return libs


def _libraries_if_any(package: str) -> list[LibraryABI]:
    try:
        return load_libraries(package)
    except NoLibrariesError:
        return []


def _need_release(release: str | None, paths: Sequence[str]) -> str:
    rel = release or infer_release(paths)
    if rel is None:
        raise InputError(
            paths[0] if paths else "-",
            "no --release given, and it cannot be inferred (only from a single .deb or a "
            "directory of one version's .debs)",
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
    first_release_ok: bool = False,
    build: Build | None = None,
) -> Report:
    """A new build against every release before it in the graph.

    A project with no graph of its own (no ``--graph``, ``$ELFAUDIT_GRAPH`` or
    ``./elfaudit-graph.json``, and not libvirt, whose history ships) cannot be judged: an
    :class:`InputError` (exit 1) saying so, so that a gate never passes for want of
    history. With ``first_release_ok`` (``gate``), an empty verdict whose ``extra``
    says ``"history": "none"`` instead: the gate of a project's first release.
    """
    from dataclasses import replace

    from elfaudit.graph.judge import graph_check
    from elfaudit.policy.weigh import Profiles, weigh

    rel = _need_release(release, lib_paths)
    path = resolve_graph(graph_path)
    if build is None:
        build = load_build(lib_paths)
    libs = build.libs
    if path == shipped_graph_path() and not shipped_serves([a.soname for a in libs]):
        names = ", ".join(a.name for a in libs) or ", ".join(lib_paths)
        if first_release_ok:
            return Report(
                "graph-check",
                tuple(a.name for a in libs),
                (),
                extra={
                    "release": rel,
                    "graph": LOCAL_GRAPH,
                    "parents": [],
                    "ancestors": [],
                    "history": "none",
                },
            )
        raise InputError(
            path_hint(lib_paths),
            f"no release graph for {names}: the shipped graph holds libvirt's history only; "
            f"record a first release (elfaudit graph record ... --release X, which starts "
            f"./{LOCAL_GRAPH}) or pass --graph FILE",
        )
    graph = load_graph(path)
    verdict = graph_check(graph, libs, rel, parents or None, profile=profile)
    findings = list(verdict.findings)  # weighed by the judge
    gone = _libraries_gone(graph, verdict.parents, libs, lib_paths)
    findings.extend(weigh(gone, Profiles(profile)))
    profiles = [profile_for(a.soname, profile) for a in libs]
    sections: tuple[SectionResult, ...] = ()
    if build.whole:
        sections, page = _judge_sections(graph, build, rel, verdict, profile)
        findings.extend(f for s in sections for f in s.findings)
        profiles.append(page)
    applied, stale = apply_waivers(
        findings, profiles, replace(waivers, release=waivers.release or rel)
    )
    if sections:
        sections = _with_applied(sections, applied)
    return Report(
        "graph-check",
        tuple(a.name for a in libs),
        tuple(applied),
        unused_waivers=stale,
        extra={
            "release": rel,
            "graph": path,
            "parents": list(verdict.parents),
            "ancestors": list(verdict.ancestors),
        },
        guarantees=sections,
    )


def _judge_sections(
    graph: ReleaseGraph, build: Build, release: str, verdict: GraphVerdict, profile: str | None
) -> tuple[tuple[SectionResult, ...], Profile]:
    """Each section of the build against every ancestor that recorded it, weighed by the
    page's profile (libvirt's, as ``guarantees`` does)."""
    from dataclasses import replace

    from elfaudit.commands.guarantees import PAGE_PROFILE_SONAME
    from elfaudit.graph.sections import judge_sections
    from elfaudit.policy.weigh import weigh

    page = profile_for(PAGE_PROFILE_SONAME, profile)
    raw = judge_sections(graph, build.sections, release, verdict.parents, verdict.ancestors)
    return tuple(replace(s, findings=tuple(weigh(s.findings, page))) for s in raw), page


def _with_applied(
    sections: tuple[SectionResult, ...], applied: Sequence[Finding]
) -> tuple[SectionResult, ...]:
    """The sections' findings as the waiver pass left them (marked waived)."""
    from dataclasses import replace

    from elfaudit.commands.guarantees import finding_key

    final = {finding_key(f): f for f in applied}
    return tuple(
        replace(s, findings=tuple(final.get(finding_key(f), f) for f in s.findings))
        for s in sections
    )


def path_hint(paths: Sequence[str]) -> str:
    return paths[0] if len(paths) == 1 else ", ".join(paths) or "-"


def _libraries_gone(
    graph: ReleaseGraph,
    parents: Sequence[str],
    libs: Sequence[LibraryABI],
    lib_paths: Sequence[str],
) -> list[Finding]:
    """A whole build (package or tree) that lacks a library its parent release shipped."""
    from elfaudit.readers.inputs import kind_of

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
) -> Recorded:
    """Add a release to a graph file (locked, atomic): which file, release and parents."""
    import os

    from elfaudit.graph.dag import ReleaseGraph
    from elfaudit.graph.judge import default_parents

    rel = _need_release(release, lib_paths)
    build = load_build(lib_paths)
    libs = build.libs
    path = resolve_graph(graph_path, for_write=True)
    seed = graph_path is None and path == LOCAL_GRAPH and shipped_serves([a.soname for a in libs])
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
                    sections=r.sections,
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
            sections=build.sections,
        )
    return Recorded(path, rel, tuple(chosen), tuple(sorted(build.sections)))


def graph_show_table(graph_path: str | None, *, profile: str | None) -> Table:
    """Releases in order, per library: public symbols and nodes, growth, breakage."""
    from elfaudit.graph.judge import graph_summary

    path = resolve_graph(graph_path)
    graph = load_graph(path)

    def apply(found: list[Finding], release: str) -> tuple[Finding, ...]:
        profiles = [profile_for(f.library, profile) for f in found[:1]]
        return apply_waivers(found, profiles, WaiverOptions(release=release))[0]

    rows = graph_summary(graph, profile=profile, apply=apply)
    table = tuple(
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
    )
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
    heads = tuple(graph.heads())
    # Which releases were recorded from a whole package set, with each section's facts.
    sections = {
        name: {sec: len(f) for sec, f in graph.release(name).sections.items()}
        for name in graph.releases()
        if graph.release(name).sections
    }
    notes = [f"heads: {', '.join(heads)}"]
    notes += [
        f"section facts of {name} (items): " + ", ".join(f"{sec} {n}" for sec, n in secs.items())
        for name, secs in sections.items()
    ]
    return Table(
        "elfaudit-graph-show",
        headers,
        table,
        title=f"release graph {path}: {len(graph)} releases",
        text_notes=tuple(notes),
        extra=(("graph", path), ("heads", heads), ("sections", sections)),
    )


def introduced_from_nodes(
    symbol: str, source: str, *, library: str | None, profile: str | None = None
) -> Table:
    """When a symbol was introduced, read from a binary's or script's node chain alone
    (``LIBVIRT_3.1.0`` -> 3.1.0), corrected by the profile's known late additions.
    ``ok`` says whether it was found."""
    from elfaudit.graph.node_chain import introduced_by_nodes

    if source.endswith((".syms", ".map", ".version", ".ver", ".lds")):
        from elfaudit.readers.version_script import parse_script

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
    missing = () if rows else (f"{symbol} is not a public versioned symbol of {source}",)
    return Table(
        "elfaudit-introduced",
        ("Symbol", "Library", "Node", "Release", "Evidence"),
        tuple(rows),
        notes=missing,
        ok=bool(rows),
    )


def introduced_table(symbol: str, graph_path: str | None, *, library: str | None) -> Table:
    """The release (and node) of the graph that first shipped a public symbol.

    ``Evidence`` says how sure that is: ``introduced`` (the release's parents were recorded
    without it), or ``first recorded`` when the release begins the recorded history (the
    symbol may be older) or, under a profile whose node names carry releases
    (``LIBVIRT_10.2.0``), when the node names an earlier release than the one recorded
    (releases between it and its parent are missing from the graph).
    """
    from elfaudit.graph.judge import release_numbers
    from elfaudit.model.tags import VersionTag

    path = resolve_graph(graph_path)
    graph = load_graph(path)
    found = graph.introduced(symbol, library)
    rows = []
    for i in found:
        parents = graph.parents(i.release)
        named = None
        if i.node and getattr(profile_for(i.library), "release_named_nodes", False):
            nums = VersionTag.parse(i.node).numbers[:3]
            if nums and nums < release_numbers(i.release):
                named = ".".join(map(str, nums))
        if not parents:
            evidence = "first recorded: the history begins here"
        elif named is not None and all(
            release_numbers(p) < tuple(map(int, named.split("."))) for p in parents
        ):
            evidence = "first recorded"
        else:
            evidence = "introduced"
        if named is not None and evidence != "introduced":
            evidence += f"; {i.node} names {named}"
        rows.append((i.symbol, i.library, i.node or "-", i.release, evidence))
    note = [] if found else [f"{symbol} is not a public symbol of any release in {path}"]
    roots = sorted({i.release for i in found if not graph.parents(i.release)})
    if roots:
        note.append(
            f"{', '.join(roots)} begins the recorded history, so the symbol may be older "
            "(--from LIBRARY reads its node chain)"
        )
    return Table(
        "elfaudit-introduced",
        ("Symbol", "Library", "Node", "Release", "Evidence"),
        tuple(rows),
        notes=tuple(note),
        ok=bool(found),
    )


def export_graph(graph_path: str | None) -> ReleaseGraph:
    """The release graph ``graph export`` writes (the renderers give its formats)."""
    return load_graph(resolve_graph(graph_path))


def plot_graph(graph_path: str | None, output: str) -> ReleaseGraph:
    """The release graph ``graph plot`` draws into ``output`` (.svg or .png); drawing it is
    the renderers' (:func:`elfaudit.render.write_plot`)."""
    if not output.endswith((".svg", ".png")):
        raise InputError(output, "the picture must be .svg or .png")
    return load_graph(resolve_graph(graph_path))


def late_additions(graph: ReleaseGraph | None, profile: Profile) -> dict[tuple[str, str], str]:
    """(soname, symbol) -> release that really added a symbol to an already-shipped node.

    From the profile's records (history before the graph begins) and from the graph: a
    symbol first seen in release R, in a node an ancestor of R had shipped without it.
    """
    out = profile.late_additions_map()
    if graph is not None:
        from elfaudit.graph.judge import upstream_version
        from elfaudit.model.tags import release_key

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


def load_default_graph(graph_path: str | None) -> ReleaseGraph:
    """The graph a command uses when it needs one (see :func:`resolve_graph`)."""
    path = resolve_graph(graph_path)
    return load_graph(path)
