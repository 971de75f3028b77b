"""``check``: libraries against the version scripts they were built from, as a Report."""

from __future__ import annotations

from collections.abc import Sequence

from elfaudit.commands.compare import _private_node_of
from elfaudit.commands.dump import run_dump
from elfaudit.commands.waiving import WaiverOptions, weigh_findings
from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding, Problem, Report
from elfaudit.policy.profiles import Profile
from elfaudit.policy.rules import Rule
from elfaudit.policy.weigh import Profiles


def run_check(
    lib_paths: Sequence[str],
    script_paths: Sequence[str],
    *,
    profile: str | None = None,
    private_node: str | None = None,
    waivers: WaiverOptions = WaiverOptions(),
    libs: Sequence[LibraryABI] | None = None,
) -> Report:
    """Binaries against the version scripts they were built from (``libs``: already read
    from ``lib_paths``)."""
    from elfaudit.analysis.conformance import check_library
    from elfaudit.readers.version_script import load_scripts

    if libs is None:
        libs = run_dump(lib_paths)
    findings: list[Finding] = []
    profiles: list[Profile] = []
    profile_of = Profiles(profile, {a.name: a.soname for a in libs})
    assigned = assign_scripts(libs, script_paths)
    used = {p for paths in assigned.values() for p in paths}
    problems = tuple(
        Problem(p, "no given library exports any symbol this script lists")
        for p in script_paths
        if p not in used
    )
    for abi in libs:
        prof = profile_of(abi.name)
        profiles.append(prof)
        node = private_node or _private_node_of(abi, prof)
        mine = assigned[abi.name]
        if not mine:
            findings.append(
                Rule.NODE_UNEXPECTED.finding(
                    abi.name,
                    None,
                    f"none of the given scripts is for {abi.name} (no listed symbol is "
                    "exported by it)",
                )
            )
            continue
        script = load_scripts(mine, node)
        findings.extend(check_library(abi, script, prof))
    applied, stale = weigh_findings(findings, profile_of, profiles, waivers)
    return Report(
        "check",
        tuple(a.name for a in libs),
        applied,
        problems=problems,
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
    from elfaudit.readers import version_script as symfile

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
