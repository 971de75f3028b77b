"""``compare``: two builds (files, snapshots, packages, trees) paired by SONAME, as a Report.

Like every module of :mod:`elfaudit.commands`, inputs in and model objects out: the CLI
only parses arguments, calls one of these and renders the result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import replace

from elfaudit.commands.waiving import WaiverOptions, weigh_findings
from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding, PrivateSummary, Report
from elfaudit.policy.profiles import Profile
from elfaudit.policy.rules import BY_ID, Rule
from elfaudit.policy.weigh import Profiles
from elfaudit.readers.inputs import kind_of, load_libraries


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
) -> tuple[list[Finding], list[PrivateSummary], Profiles]:
    """Pair the two sets by SONAME and compare each pair; libraries gone or new.

    With ``provides`` (package-level inputs), also ``provides-removed`` for every RPM-style
    capability the old set offered and the new one does not. The findings are raw; the
    returned :class:`Profiles` weighs them (each library's profile, as compared).
    """
    from elfaudit.analysis.compare import compare_abi
    from elfaudit.analysis.dependencies import compare_dependencies
    from elfaudit.analysis.moves import fold_moves

    pairs, gone, added = pair_by_soname(old, new)
    findings: list[Finding] = []
    private: list[PrivateSummary] = []
    # A library is judged by its new build's SONAME (a gone one by its old).
    sonames = {a.name: a.soname for a in old}
    sonames.update({n.name: n.soname for _, n in pairs})
    sonames.update({n.name: n.soname for n in added})
    profile_of = Profiles(profile, sonames)
    for o, n in pairs:
        prof = profile_of(n.name)
        result = compare_abi(o, n, prof, show_private=show_private)
        findings.extend(result.findings)
        findings.extend(compare_dependencies(o, n))
        if result.private is not None:
            private.append(result.private)
    findings.extend(
        Rule.LIBRARY_REMOVED.finding(
            o.name, None, f"{o.name} is in the old set but not in the new one"
        )
        for o in gone
    )
    findings.extend(
        Rule.LIBRARY_ADDED.finding(n.name, None, f"{n.name} is new in the new set") for n in added
    )
    if provides:
        from elfaudit.analysis.provides import compare_provides

        findings.extend(compare_provides(old, new))
    # The package is the unit: a symbol that moved to another library of the new set.
    findings = fold_moves(findings, new)
    return findings, private, profile_of


#: Under a SONAME change, the findings of these rules are summarised in ``soname-changed``.
_SUMMARISED_FAMILIES = frozenset({"compare"})
_KEPT = frozenset({Rule.SONAME_CHANGED.id, Rule.MACHINE_CHANGED.id})


def summarise_soname_changes(
    findings: Sequence[Finding], renamed: Collection[str]
) -> list[Finding]:
    """For each library of ``renamed`` (paired although its SONAME changed: a different
    library for the loader), the symbol and node findings folded into its
    ``soname-changed`` finding as counts per rule; the rest is kept as it is.

    The findings are weighed and waived: the counts are what the full list would show.
    """
    from elfaudit.policy.rules import spec

    def folded(f: Finding) -> bool:
        if f.library not in renamed or f.rule in _KEPT or f.rule not in BY_ID:
            return False
        return spec(f.rule).family in _SUMMARISED_FAMILIES or f.rule == (
            Rule.SYMBOL_MOVED_LIBRARY.id
        )

    counts: dict[str, Counter[tuple[str, str]]] = {lib: Counter() for lib in renamed}
    out: list[Finding] = []
    for f in findings:
        if folded(f):
            key = "waived" if f.waived is not None else f.severity.value
            counts[f.library][(f.rule, key)] += 1
        else:
            out.append(f)
    for i, f in enumerate(out):
        if f.rule != Rule.SONAME_CHANGED.id or f.library not in renamed:
            continue
        c = counts[f.library]
        if not c:
            continue
        total = sum(c.values())
        detail = ", ".join(f"{rule}: {n} {key}" for (rule, key), n in sorted(c.items()))
        noun = "finding" if total == 1 else "findings"
        out[i] = replace(
            f,
            message=f"{f.message}: a different library to the loader, so programs linked "
            f"against the old one keep needing it; {total} symbol and node {noun} against "
            f"the old library not listed ({detail}); -v lists them",
        )
    return out


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
    list_all: bool = False,
) -> Report:
    """Release to release (files, snapshots, packages or trees; paired by SONAME).

    A pair whose SONAME changed (two different libraries) reports ``soname-changed`` with
    the symbol and node findings counted in it, unless ``list_all``.
    """
    from elfaudit.readers.inputs import kind_of

    old, new = load_pair(old_path, new_path)
    # Packages and trees (or several libraries) are judged as rpm sees them too: Provides.
    package_level = (
        len(old) > 1
        or len(new) > 1
        or any(kind_of(p) in ("package", "dir") for p in (old_path, new_path))
    )
    findings, private, profile_of = compare_sets(
        old, new, profile=profile, show_private=show_private, provides=package_level
    )
    # Weighing first: the profiles chosen for the pairs are those whose waivers apply.
    paired = list(profile_of.chosen)
    applied, stale = weigh_findings(findings, profile_of, paired, waivers)
    pairs, gone, _added = pair_by_soname(old, new)
    renamed = {n.name for o, n in pairs if o.soname != n.soname}
    if renamed and not list_all:
        applied = tuple(summarise_soname_changes(applied, renamed))
    # A pair is reported under its new name (the old one would be an empty section).
    names = sorted({n.name for _, n in pairs} | {a.name for a in gone} | {a.name for a in new})
    return Report(
        "compare",
        tuple(names),
        applied,
        tuple(private),
        unused_waivers=stale,
        extra={"old": old_path, "new": new_path},
    )
