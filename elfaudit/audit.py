"""The library API behind `dump`, `check` and `compare`: inputs in, a Report out.

The CLI only parses arguments, calls one of these and renders the result. The release
graph's commands live in :mod:`elfaudit.gate`, the packagers' in :mod:`elfaudit.distro`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from elfaudit.inputs import kind_of, load_all, load_libraries
from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding, PrivateSummary, Problem, Report, Severity
from elfaudit.profiles import Profile, profile_for, waivers_path
from elfaudit.rules import Rule


@dataclass(frozen=True, slots=True)
class WaiverOptions:
    files: tuple[str, ...] = ()  # extra waivers files (--waivers)
    profile_defaults: bool = True  # apply the profile's shipped waivers
    release: str | None = None  # the release being judged, for release-scoped waivers


def apply_waivers(
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
    used = {p for paths in assigned.values() for p in paths}
    problems = tuple(
        Problem(p, "no given library exports any symbol this script lists")
        for p in script_paths
        if p not in used
    )
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
    applied, stale = apply_waivers(findings, profiles, waivers)
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
    without the GIL, so OLD on a worker thread and NEW on this one use both cores.

    An error on either side is raised here; when both fail, OLD's (the first argument).
    No digests: a comparison never shows them.
    """
    if "package" not in (kind_of(old_path), kind_of(new_path)):
        return load_libraries(old_path, digest=False), load_libraries(new_path, digest=False)
    import threading  # not concurrent.futures: its import (with logging) costs 10 ms

    result: list[LibraryABI] = []
    failure: list[BaseException] = []

    def load_old() -> None:
        try:
            result.extend(load_libraries(old_path, digest=False))
        except BaseException as exc:  # re-raised in the caller's thread below
            failure.append(exc)

    worker = threading.Thread(target=load_old, name="elfaudit-load-old", daemon=True)
    worker.start()
    try:
        new = load_libraries(new_path, digest=False)
    except BaseException:
        worker.join()
        if failure:
            raise failure[0] from None
        raise
    worker.join()
    if failure:
        raise failure[0]
    return result, new


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
    applied, stale = apply_waivers(findings, profiles, waivers)
    names = sorted({a.name for a in old} | {a.name for a in new})
    return Report(
        "compare",
        tuple(names),
        applied,
        tuple(private),
        unused_waivers=stale,
        extra={"old": old_path, "new": new_path},
    )
