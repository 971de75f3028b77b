"""``guarantees``: two releases judged section by section of libvirt's support page.

Each side is a directory of one release's packages, an unpacked root tree or one package
(:func:`elfaudit.readers.release_files.read_release`). The sections, keyed by the page's
anchors (:data:`elfaudit.model.guarantees.SECTIONS`):

* ``publicAPI``: ``libvirt.so.0`` and ``libvirt-admin.so.0`` compared as ``compare`` does
  (symbols, nodes, dependencies, Provides, moves between the libraries of the set), their API
  descriptions as ``api-compare`` does, and NEW's descriptions against NEW's libraries;
* ``hvAPI``: the same for ``libvirt-qemu.so.0`` and ``libvirt-lxc.so.0`` (weak, as the
  profile says);
* ``xmlschema`` and ``configfiles``: :func:`elfaudit.analysis.schemas.check_schemas` and
  :func:`elfaudit.analysis.config_files.check_config_files`, imported when they are there;
* ``apierrors``: :func:`elfaudit.analysis.api_errors.check_api_errors`: removed or
  renumbered ``virErrorNumber`` / ``virErrorDomain`` values of ``libvirt-api.xml``;
* ``hvdrivers``: the page promises no driver, so ``no-promise``, with the connection-driver
  modules of each side as evidence and those added or dropped as info findings
  (:func:`elfaudit.analysis.api_errors.check_drivers`);
* ``rpcproto``: :func:`elfaudit.analysis.rpc_protocol.check_rpc`: RPC programs, procedures
  (systemtap tapset) and messages (wireshark plugin) removed, renamed or changed;
* ``virsh``: :func:`elfaudit.analysis.virsh_commands.check_virsh`: virsh's commands and
  options (read from ``/usr/bin/virsh``) removed, or changed so that a command line breaks.

A section is ``checked`` only when both sides hold what it reads; otherwise ``not-checked``,
saying what is missing from which side. Every finding is weighed once, here, by the policy
pass: the libraries' findings by their profiles, the other sections' by libvirt's profile.

The same sections judge a release's package set against every ancestor in the release
graph (``graph check DIR``), from the facts each records
(:mod:`elfaudit.analysis.sections`, :mod:`elfaudit.graph.sections`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from elfaudit.commands.waiving import WaiverOptions, weigh_findings
from elfaudit.model.guarantees import (
    LIBRARIES,
    SECTIONS,
    ReleaseFiles,
    SectionResult,
    SectionStatus,
)
from elfaudit.model.report import Finding, PrivateSummary, Report
from elfaudit.policy.profiles import Profile, profile_for
from elfaudit.policy.weigh import Profiles

if TYPE_CHECKING:
    from elfaudit.model.abi import LibraryABI
    from elfaudit.readers.api_xml import ApiDescription
    from elfaudit.readers.release_files import Release

SECTION_OF_LIBRARY = {soname: sec for sec, names in LIBRARIES.items() for soname in names}
#: The profile the sections other than the libraries' are weighed by.
PAGE_PROFILE_SONAME = "libvirt.so.0"

SCHEMAS = "usr/share/libvirt/schemas/"
CONFIG = "etc/libvirt/"
LENSES = "usr/share/augeas/lenses/"


def _side_labels(old: Release, new: Release) -> dict[str, str]:
    return {"old": old.files.label, "new": new.files.label}


def _files_evidence(rf: ReleaseFiles, paths: Sequence[str]) -> dict[str, str]:
    """path -> the package (or tree) it came from."""
    return {f"/{p}": rf.origin.get(p, rf.label) for p in sorted(paths)}


# --------------------------------------------------------------------------- libraries


def _libraries(rel: Release) -> list[LibraryABI]:
    from elfaudit.readers.release_files import libraries

    return libraries(rel, SECTION_OF_LIBRARY)


def _apis(rel: Release) -> list[ApiDescription]:
    from elfaudit.readers.api_xml import api_descriptions

    return api_descriptions(rel.files)


def _section_of_api(d: ApiDescription) -> str | None:
    return SECTION_OF_LIBRARY.get(d.library)


def _library_sections(
    old: Release, new: Release, profile: str | None, show_private: bool
) -> tuple[dict[str, SectionResult], list[PrivateSummary], Profiles, dict[str, str]]:
    """publicAPI and hvAPI, raw; the private summaries; the libraries' profiles; and the
    section of each library name the findings use."""
    from elfaudit.analysis.api_checks import check_api_against_library, compare_api
    from elfaudit.commands.compare import compare_sets
    from elfaudit.policy.rules import Rule

    old_libs, new_libs = _libraries(old), _libraries(new)
    old_apis, new_apis = _apis(old), _apis(new)
    section_of: dict[str, str] = {}
    for a in [*old_libs, *new_libs]:
        sec = SECTION_OF_LIBRARY.get(a.soname or "")
        if sec is not None:
            section_of[a.name] = sec
    for d in [*old_apis, *new_apis]:
        sec = _section_of_api(d)
        if sec is not None:
            section_of[d.library] = sec

    findings: list[Finding] = []
    private: list[PrivateSummary] = []
    sonames = {a.name: a.soname for a in [*old_libs, *new_libs]}
    profile_of = Profiles(profile, sonames)
    if old_libs and new_libs:
        raw, private, profile_of = compare_sets(
            old_libs, new_libs, profile=profile, show_private=show_private, provides=True
        )
        findings.extend(raw)
    o_api = {d.name: d for d in old_apis}
    n_api = {d.name: d for d in new_apis}
    for name, n in sorted(n_api.items()):
        o = o_api.get(name)
        if o is not None:
            findings.extend(compare_api(o, n))
    if n_api:
        findings.extend(
            Rule.API_FUNCTION_REMOVED.finding(
                o.library, None, f"the API description {name} is gone"
            )
            for name, o in sorted(o_api.items())
            if name not in n_api
        )
    by_soname = {a.soname: a for a in new_libs}
    for n in n_api.values():
        abi = by_soname.get(n.library)
        if abi is not None:
            findings.extend(check_api_against_library(n, abi))

    results: dict[str, SectionResult] = {}
    for sec, wanted in LIBRARIES.items():
        side_libs = {
            side: {a.soname: a for a in libs if a.soname in wanted}
            for side, libs in (("old", old_libs), ("new", new_libs))
        }
        side_apis = {
            side: {d.name: d for d in apis if _section_of_api(d) == sec}
            for side, apis in (("old", old_apis), ("new", new_apis))
        }
        evidence: dict[str, object] = {}
        for side in ("old", "new"):
            evidence[side] = {
                "libraries": {
                    s: {
                        "file": a.path,
                        "symbols": len(a.symbols),
                        "nodes": len(a.node_names),
                    }
                    for s, a in sorted(side_libs[side].items())
                },
                "api_descriptions": {
                    name: {"file": d.path, "functions": len(d.functions), "enums": len(d.enums)}
                    for name, d in sorted(side_apis[side].items())
                },
            }
        libs_both = bool(side_libs["old"]) and bool(side_libs["new"])
        apis_both = bool(side_apis["old"]) and bool(side_apis["new"])
        missing = [
            f"{what} in {side.upper()}"
            for what, table in (("no libraries", side_libs), ("no API XML", side_apis))
            for side in ("old", "new")
            if not table[side]
        ]
        mine = tuple(f for f in findings if section_of.get(f.library) == sec)
        names = " + ".join(wanted)
        if libs_both or apis_both:
            status, reason = SectionStatus.CHECKED, ""
            if missing:
                reason = "partly: " + ", ".join(missing)
        else:
            status = SectionStatus.NOT_CHECKED
            reason = f"{names} or their API XML not on both sides: " + ", ".join(missing)
            mine = ()
        results[sec] = SectionResult(sec, status, reason, evidence, mine)
    return results, private, profile_of, section_of


# --------------------------------------------------------------------------- other sections


def _external(
    section: str,
    module: str,
    function: str,
    old: ReleaseFiles,
    new: ReleaseFiles,
    needs: Callable[[ReleaseFiles], bool],
    what: str,
) -> SectionResult:
    """A section whose checker lives in its own module, called when both sides hold what it
    reads and the module is there."""
    missing = [side for side, rf in (("OLD", old), ("NEW", new)) if not needs(rf)]
    if missing:
        where = " or ".join(missing)
        return SectionResult(section, SectionStatus.NOT_CHECKED, f"no {what} in {where}")
    try:
        mod = importlib.import_module(module)
        check: Callable[[ReleaseFiles, ReleaseFiles], SectionResult] = getattr(mod, function)
    except (ImportError, AttributeError) as exc:
        return SectionResult(
            section,
            SectionStatus.NOT_CHECKED,
            f"{module}.{function} is not available ({exc})",
        )
    try:
        result = check(old, new)
    except NotImplementedError as exc:
        why = str(exc) or "not implemented yet"
        return SectionResult(section, SectionStatus.NOT_CHECKED, f"{module}: {why}")
    return result if result.section == section else replace(result, section=section)


def _has_schemas(rf: ReleaseFiles) -> bool:
    return any(p.endswith(".rng") for p in rf.under(SCHEMAS))


def _has_config(rf: ReleaseFiles) -> bool:
    return any(p.endswith(".conf") for p in rf.under(CONFIG)) or any(
        p.endswith(".aug") for p in rf.under(LENSES)
    )


def _schema_evidence(old: ReleaseFiles, new: ReleaseFiles) -> dict[str, object]:
    return {
        side: _files_evidence(rf, [p for p in rf.under(SCHEMAS) if p.endswith(".rng")])
        for side, rf in (("old", old), ("new", new))
    }


def _config_evidence(old: ReleaseFiles, new: ReleaseFiles) -> dict[str, object]:
    out: dict[str, object] = {}
    for side, rf in (("old", old), ("new", new)):
        paths = [p for p in rf.under(CONFIG) if p.endswith(".conf")]
        paths += [p for p in rf.under(LENSES) if p.endswith(".aug")]
        out[side] = _files_evidence(rf, paths)
    return out


def _with_default_evidence(result: SectionResult, evidence: Mapping[str, object]) -> SectionResult:
    return result if result.evidence else replace(result, evidence=dict(evidence))


# --------------------------------------------------------------------------- the command


def read_both(old_path: str, new_path: str) -> tuple[Release, Release]:
    """Both releases (each reads its packages on worker threads); OLD's error first."""
    from elfaudit.readers.release_files import read_release

    return read_release(old_path), read_release(new_path)


def run_guarantees(
    old_path: str,
    new_path: str,
    *,
    profile: str | None = None,
    show_private: bool = False,
    waivers: WaiverOptions = WaiverOptions(),
) -> Report:
    """Every section of the support page, OLD release to NEW release."""
    old, new = read_both(old_path, new_path)
    libs, private, lib_profiles, section_of = _library_sections(old, new, profile, show_private)
    of, nf = old.files, new.files
    results: dict[str, SectionResult] = dict(libs)
    results["xmlschema"] = _with_default_evidence(
        _external(
            "xmlschema",
            "elfaudit.analysis.schemas",
            "check_schemas",
            of,
            nf,
            _has_schemas,
            f"XML schemas (/{SCHEMAS}*.rng)",
        ),
        _schema_evidence(of, nf),
    )
    results["configfiles"] = _with_default_evidence(
        _external(
            "configfiles",
            "elfaudit.analysis.config_files",
            "check_config_files",
            of,
            nf,
            _has_config,
            f"configuration files (/{CONFIG}*.conf) or augeas lenses (/{LENSES}*.aug)",
        ),
        _config_evidence(of, nf),
    )
    from elfaudit.analysis.api_errors import check_api_errors, check_drivers

    results["apierrors"] = check_api_errors(of, nf)
    results["hvdrivers"] = check_drivers(of, nf)
    from elfaudit.analysis.rpc_protocol import check_rpc

    results["rpcproto"] = check_rpc(of, nf)
    from elfaudit.analysis.virsh_commands import check_virsh

    results["virsh"] = check_virsh(of, nf)

    # One weighing pass over every section's raw findings.
    page_profile: Profile = profile_for(PAGE_PROFILE_SONAME, profile)

    def profile_of(library: str) -> Profile:
        return lib_profiles(library) if library in section_of else page_profile

    raw: list[Finding] = []
    home: dict[tuple[object, ...], str] = {}
    for sec in SECTIONS:
        for f in results[sec].findings:
            raw.append(f)
            home.setdefault(finding_key(f), sec)
    profiles = [*lib_profiles.chosen, page_profile]
    applied, stale = weigh_findings(raw, profile_of, profiles, waivers)
    per: dict[str, list[Finding]] = {sec: [] for sec in SECTIONS}
    for f in applied:
        per[home.get(finding_key(f), "publicAPI")].append(f)
    sections = tuple(
        replace(results[sec], findings=tuple(per[sec]), evidence=dict(results[sec].evidence))
        for sec in SECTIONS
    )
    libraries = sorted(section_of)
    return Report(
        "guarantees",
        tuple(libraries),
        applied,
        tuple(private),
        unused_waivers=stale,
        extra={
            **_side_labels(old, new),
            "packages": {"old": list(old.packages), "new": list(new.packages)},
        },
        guarantees=sections,
    )


def finding_key(f: Finding) -> tuple[object, ...]:
    """What identifies a finding across the weighing pass (which sets severity and waived)."""
    return (f.rule, f.library, f.symbol, f.version, f.message)
