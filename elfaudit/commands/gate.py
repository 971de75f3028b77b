"""``gate``: ``check`` plus ``graph check``, one report, recording the release on success."""

from __future__ import annotations

from collections.abc import Sequence

from elfaudit.commands.check import run_check
from elfaudit.commands.graph import _need_release, load_build, run_graph_check
from elfaudit.commands.waiving import WaiverOptions
from elfaudit.model.report import Report


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
    section of libvirt's support page too, against every ancestor that recorded them."""
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
    return Report(
        "gate",
        history.libraries,
        checked.findings + history.findings,
        unused_waivers=stale,
        extra=dict(history.extra),
        guarantees=history.guarantees,
    )
