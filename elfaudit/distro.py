"""The library API behind the packagers' commands: `symbols-file`, `provides`, `needs`,
`scan` and `api-compare`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from elfaudit.audit import WaiverOptions, apply_waivers, run_dump
from elfaudit.errors import InputError
from elfaudit.gate import infer_release, late_additions, load_default_graph
from elfaudit.inputs import load_libraries
from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding, Report, Severity
from elfaudit.profiles import profile_for
from elfaudit.rules import Rule

if TYPE_CHECKING:
    from elfaudit.apixml import ApiDescription


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
    graph = load_default_graph(graph_path)
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
    graph = load_default_graph(graph_path)
    findings = debsymbols.check_symbols_file(
        sf, libs, minver=debsymbols.node_minver(late_additions(graph, prof)), profile=prof
    )
    applied, stale = apply_waivers(findings, [prof], waivers)
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
    from elfaudit.model.tags import VersionTag, release_key
    from elfaudit.render import render_table

    graph = load_default_graph(graph_path) if (release or graph_path) else None
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
    from elfaudit.model.report import Problem
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
    applied, stale = apply_waivers(list(report.findings), profiles, waivers)
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
    applied, stale = apply_waivers(findings, profiles, waivers)
    return Report(
        "api-compare",
        tuple(sorted(d.library for d in new.values())),
        applied,
        unused_waivers=stale,
        extra={"old": old_path, "new": new_path},
    )
