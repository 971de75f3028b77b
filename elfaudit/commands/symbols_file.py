"""``symbols-file``: generate a Debian symbols file, or check one against the binary."""

from __future__ import annotations

from collections.abc import Sequence

from elfaudit.base.errors import InputError
from elfaudit.commands.dump import run_dump
from elfaudit.commands.graph import infer_release, late_additions, load_default_graph
from elfaudit.commands.waiving import WaiverOptions, weigh_findings
from elfaudit.model.report import Report
from elfaudit.model.tables import GeneratedSymbols
from elfaudit.policy.profiles import profile_for


def run_symbols_file(
    lib_paths: Sequence[str],
    *,
    package: str,
    graph_path: str | None,
    profile: str | None = None,
    build_depends_package: str | None = None,
    minver_fallback: str | None = None,
) -> GeneratedSymbols:
    """A Debian symbols file whose minimal versions come from nodes, profile and graph."""
    from elfaudit.analysis import symbols_file as debsymbols

    libs = run_dump(lib_paths)
    prof = profile_for(libs[0].soname if libs else None, profile)
    graph = load_default_graph(graph_path)
    return debsymbols.build_symbols_file(
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
    from elfaudit.analysis import symbols_file as debsymbols
    from elfaudit.readers import debian_symbols

    libs = run_dump(lib_paths)
    prof = profile_for(libs[0].soname if libs else None, profile)
    if symbols_path is None:
        debs = [p for p in lib_paths if p.endswith(".deb")]
        if len(debs) != 1:
            raise InputError(
                lib_paths[0], "--check needs a symbols file, or a single .deb carrying one"
            )
        from elfaudit.readers.packages import read_deb_control_file

        raw = read_deb_control_file(debs[0], "symbols")
        if raw is None:
            raise InputError(debs[0], "the package has no DEBIAN/symbols control file")
        where = f"{debs[0]}:DEBIAN/symbols"
        sf = debian_symbols.parse_symbols_file(raw.decode("utf-8", "replace"), where)
    else:
        sf = debian_symbols.load_symbols_file(symbols_path)
        where = symbols_path
    graph = load_default_graph(graph_path)
    findings = debsymbols.check_symbols_file(
        sf, libs, minver=debsymbols.node_minver(late_additions(graph, prof))
    )
    applied, stale = weigh_findings(findings, prof, [prof], waivers)
    return Report(
        "symbols-file",
        tuple(a.name for a in libs),
        applied,
        unused_waivers=stale,
        extra={"symbols_file": where},
    )
