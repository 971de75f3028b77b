"""``api-compare``: libvirt's API description (libvirt-api.xml) between two releases, and
against the library that should export it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from elfaudit.base.errors import InputError
from elfaudit.commands.waiving import WaiverOptions, weigh_findings
from elfaudit.model.report import Finding, Report
from elfaudit.policy.profiles import profile_for
from elfaudit.policy.rules import Rule
from elfaudit.policy.weigh import Profiles
from elfaudit.readers.inputs import load_libraries

if TYPE_CHECKING:
    from elfaudit.readers.api_xml import ApiDescription


def _api_descriptions(path: str) -> list[ApiDescription]:
    from elfaudit.readers.api_xml import API_DIR, is_api_description, load_api

    if path.endswith(".xml"):
        return [load_api(path)]
    from elfaudit.readers.packages import Kind, read_members

    out = [
        load_api(m.data, f"{path}:/{m.name}")
        for m in read_members(path, want=is_api_description, elf_only=False)
        if m.kind is Kind.FILE and m.data is not None
    ]
    if not out:
        raise InputError(path, f"no API description (/{API_DIR}*-api.xml) in it")
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
    from elfaudit.analysis.api_checks import check_api_against_library, compare_api

    old = {d.name: d for d in _api_descriptions(old_path)}
    new = {d.name: d for d in _api_descriptions(new_path)}
    findings: list[Finding] = []
    for name, n in sorted(new.items()):
        o = old.get(name)
        if o is not None:
            findings.extend(compare_api(o, n))
    # Not named by its API module: a whole description gone is an error whatever its class.
    findings.extend(
        Rule.API_FUNCTION_REMOVED.finding(o.library, None, f"the API description {name} is gone")
        for name, o in sorted(old.items())
        if name not in new
    )
    libs = {a.name: a for p in libraries for a in load_libraries(p)}
    for _name, n in sorted(new.items()):
        abi = libs.get(n.library)
        if abi is not None:
            findings.extend(check_api_against_library(n, abi))
    profiles = [profile_for(d.library) for d in new.values()]
    applied, stale = weigh_findings(findings, Profiles(), profiles, waivers)
    return Report(
        "api-compare",
        tuple(sorted(d.library for d in new.values())),
        applied,
        unused_waivers=stale,
        extra={"old": old_path, "new": new_path},
    )
