"""``gate``: ``check`` plus ``graph check``, one report, recording the release on success."""

from __future__ import annotations

from collections.abc import Sequence

from elfaudit.commands.check import run_check
from elfaudit.commands.graph import Build, _need_release, load_build, run_graph_check
from elfaudit.commands.waiving import WaiverOptions
from elfaudit.model.report import Finding, Report


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
    """The release manager's one command: scripts check plus history check, one report.
    A whole package set (one directory of packages, or a root tree) is judged section by
    section of libvirt's support page too, against every ancestor that recorded them, and
    its API descriptions against its own libraries (what ``api-compare --library`` and
    ``guarantees`` check: every documented function exported under its documented node)."""
    from dataclasses import replace

    rel = _need_release(release, lib_paths)
    opts = replace(waivers, release=waivers.release or rel)
    build = load_build(lib_paths)
    checked = run_check(
        lib_paths,
        script_paths,
        profile=profile,
        private_node=private_node,
        waivers=opts,
        libs=build.libs,
    )
    history = run_graph_check(
        lib_paths,
        release=rel,
        parents=parents,
        graph_path=graph_path,
        profile=profile,
        waivers=opts,
        first_release_ok=True,  # a project's first release has no history to break
        build=build,
    )
    stale = tuple(sorted(set(checked.unused_waivers) & set(history.unused_waivers)))
    own = _api_against_libraries(build, profile, opts)
    return Report(
        "gate",
        history.libraries,
        checked.findings + history.findings + own,
        unused_waivers=stale,
        extra=dict(history.extra),
        guarantees=history.guarantees,
    )


def _api_against_libraries(
    build: Build, profile: str | None, opts: WaiverOptions
) -> tuple[Finding, ...]:
    """A package set's API descriptions against the libraries built with them, weighed and
    waived as the other findings."""
    if build.files is None:
        return ()
    from elfaudit.analysis.api_checks import check_api_against_library
    from elfaudit.commands.waiving import weigh_findings
    from elfaudit.policy.weigh import Profiles
    from elfaudit.readers.api_xml import api_descriptions

    by_soname = {a.soname: a for a in build.libs}
    raw = [
        f
        for d in api_descriptions(build.files)
        if d.library in by_soname
        for f in check_api_against_library(d, by_soname[d.library])
    ]
    profile_of = Profiles(profile, {a.name: a.soname for a in build.libs})
    profiles = [profile_of(a.name) for a in build.libs]
    return weigh_findings(raw, profile_of, profiles, opts)[0]
