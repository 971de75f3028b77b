"""The ``apierrors`` and ``hvdrivers`` sections of libvirt's support page.

``apierrors``: the page says the error codes *reported* may change across releases ("usually
changing from a generic error to a more specific error"), so which code a call reports is no
finding. What a program compiled against the old headers holds is the numbers of
``virErrorNumber`` and ``virErrorDomain``; those are read from each side's
``libvirt-api.xml`` and compared by name: a value gone (``api-error-code-removed``), a value
whose number changed (``api-error-code-renumbered``; the ``*_LAST`` sentinels such as
``VIR_ERR_NUMBER_LAST`` grow with every addition and are exempt) and a new value
(``api-error-code-added``, info).

``hvdrivers``: the page promises no driver forever, so the connection-driver modules
(``usr/lib/*/libvirt/connection-driver/libvirt_driver_*.so``) added and dropped are info
findings (``driver-added``, ``driver-dropped``) of a ``no-promise`` section.

Facts (issue 13): :func:`error_facts` / :func:`compare_error_facts` (``apierrors``) and
:func:`driver_facts` / :func:`compare_driver_facts` (``hvdrivers``) judge from what the
release graph keeps, with the findings of :func:`check_api_errors` and :func:`check_drivers`.
"""

from __future__ import annotations

from collections.abc import Mapping

from elfaudit.base.errors import InputError
from elfaudit.model.guarantees import ReleaseFiles, SectionFacts, SectionResult, SectionStatus
from elfaudit.model.report import Finding
from elfaudit.policy.rules import Rule
from elfaudit.readers.api_xml import API_DIR, ApiEnumValue, parse_api

__all__ = [
    "API_XML_PATH",
    "ERROR_ENUMS",
    "check_api_errors",
    "check_drivers",
    "compare_driver_facts",
    "compare_error_facts",
    "driver_facts",
    "drivers",
    "error_facts",
]

API_XML_PATH = f"{API_DIR}libvirt-api.xml"
#: The enumerations the section reads.
ERROR_ENUMS = ("virErrorNumber", "virErrorDomain")
#: The library name findings carry (the file they were read from).
LIBRARY = "libvirt-api.xml"
DRIVERS = "/libvirt/connection-driver/"


def _error_values(rf: ReleaseFiles) -> dict[str, ApiEnumValue] | None:
    data = rf.files.get(API_XML_PATH)
    if data is None:
        return None
    api = parse_api(data, f"{rf.origin.get(API_XML_PATH, rf.label)}:/{API_XML_PATH}")
    return {e.name: e for e in api.enums if e.enum in ERROR_ENUMS}


def _is_sentinel(name: str) -> bool:
    return name.endswith("_LAST")


def _number(e: ApiEnumValue) -> str:
    return str(e.number) if e.number is not None else e.value


#: A value as the section sees it: name -> (its enumeration, its number as text: the
#: resolved integer, else the value as written).
_Codes = Mapping[str, tuple[str, str]]


def _codes(values: Mapping[str, ApiEnumValue]) -> dict[str, tuple[str, str]]:
    return {name: (e.enum, _number(e)) for name, e in sorted(values.items())}


def _counts(codes: _Codes) -> dict[str, object]:
    return {enum: sum(1 for e, _ in codes.values() if e == enum) for enum in ERROR_ENUMS}


def _file_counts(codes: _Codes, rf: ReleaseFiles) -> dict[str, object]:
    out: dict[str, object] = {"file": f"/{API_XML_PATH}"}
    out["package"] = rf.origin.get(API_XML_PATH, rf.label)
    out.update(_counts(codes))
    return out


def compare_error_codes(old: _Codes, new: _Codes) -> list[Finding]:
    """Removed, renumbered and added ``virErrorNumber`` / ``virErrorDomain`` values, from
    name -> (enumeration, number)."""
    out: list[Finding] = []
    for name, (enum, number) in sorted(old.items()):
        n = new.get(name)
        if n is None:
            out.append(
                Rule.API_ERROR_CODE_REMOVED.finding(
                    LIBRARY, None, f"{enum} value {name} ({number}) is gone", name
                )
            )
        elif number != n[1] and not _is_sentinel(name):
            out.append(
                Rule.API_ERROR_CODE_RENUMBERED.finding(
                    LIBRARY, None, f"{enum} value {name} was {number}, is {n[1]}", name
                )
            )
    for name, (enum, number) in sorted(new.items()):
        if name not in old:
            out.append(
                Rule.API_ERROR_CODE_ADDED.finding(
                    LIBRARY, None, f"new {enum} value {name} ({number})", name
                )
            )
    return out


# --------------------------------------------------------------------------- apierrors facts


def error_facts(rf: ReleaseFiles) -> dict[str, object] | None:
    """The ``apierrors`` facts of a release: ``"<enumeration> <name>"`` -> its number (text)
    for every ``virErrorNumber`` / ``virErrorDomain`` value of ``libvirt-api.xml``; None
    without that file. InputError on a bad one."""
    values = _error_values(rf)
    return None if values is None else _facts_of(_codes(values))


def _facts_of(codes: _Codes) -> dict[str, object]:
    return {f"{enum} {name}": number for name, (enum, number) in codes.items()}


def _codes_of(facts: SectionFacts, label: str) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for key, number in facts.items():
        enum, _, name = key.partition(" ")
        if not name or not isinstance(number, str):
            raise InputError(f"{label} (apierrors facts)", f"bad item {key[:80]!r}")
        out[name] = (enum, number)
    return dict(sorted(out.items()))


def _error_result(
    o: _Codes | None, n: _Codes | None, evidence: Mapping[str, Mapping[str, object]]
) -> SectionResult:
    if o is None or n is None:
        missing = [side for side, v in (("OLD", o), ("NEW", n)) if v is None]
        return SectionResult(
            "apierrors",
            SectionStatus.NOT_CHECKED,
            f"no /{API_XML_PATH} in {' or '.join(missing)}",
            evidence,
        )
    return SectionResult(
        "apierrors", SectionStatus.CHECKED, "", evidence, tuple(compare_error_codes(o, n))
    )


def compare_error_facts(
    old: SectionFacts | None,
    new: SectionFacts | None,
    old_label: str = "OLD",
    new_label: str = "NEW",
) -> SectionResult:
    """The ``apierrors`` verdict from both releases' :func:`error_facts` (the findings of
    :func:`check_api_errors`; the evidence counts values, the file and package aside)."""
    o = None if old is None else _codes_of(old, old_label)
    n = None if new is None else _codes_of(new, new_label)
    return _error_result(
        o, n, {side: ({} if v is None else _counts(v)) for side, v in (("old", o), ("new", n))}
    )


def check_api_errors(old: ReleaseFiles, new: ReleaseFiles) -> SectionResult:
    """The ``apierrors`` section: ``checked`` when both sides hold ``libvirt-api.xml``."""
    ov, nv = _error_values(old), _error_values(new)
    o = None if ov is None else _codes(ov)
    n = None if nv is None else _codes(nv)
    return _error_result(
        o,
        n,
        {
            side: ({} if v is None else _file_counts(v, rf))
            for side, v, rf in (("old", o, old), ("new", n, new))
        },
    )


# --------------------------------------------------------------------------- hvdrivers


def drivers(rf: ReleaseFiles) -> list[str]:
    """The connection-driver modules of a release, by file name."""
    return sorted(p.rsplit("/", 1)[-1] for p in rf.files if DRIVERS in f"/{p}")


def driver_facts(rf: ReleaseFiles) -> dict[str, object] | None:
    """The ``hvdrivers`` facts of a release: module file name -> the paths shipping it
    (sorted); None when it ships no connection driver."""
    out: dict[str, list[str]] = {}
    for p in sorted(rf.files):
        if DRIVERS in f"/{p}":
            out.setdefault(p.rsplit("/", 1)[-1], []).append(p)
    return {name: out[name] for name in sorted(out)} or None


def _driver_names(facts: SectionFacts | None, label: str) -> list[str]:
    if facts is None:
        return []
    out: list[str] = []
    for name, paths in facts.items():
        if not isinstance(paths, list):
            raise InputError(f"{label} (hvdrivers facts)", f"bad item {name[:80]!r}")
        out += [name] * len(paths)
    return sorted(out)


def compare_driver_facts(
    old: SectionFacts | None,
    new: SectionFacts | None,
    old_label: str = "OLD",
    new_label: str = "NEW",
) -> SectionResult:
    """The ``hvdrivers`` verdict from both releases' :func:`driver_facts`."""
    return _driver_result(_driver_names(old, old_label), _driver_names(new, new_label))


def check_drivers(old: ReleaseFiles, new: ReleaseFiles) -> SectionResult:
    """The ``hvdrivers`` section: ``no-promise``, the modules added and dropped as info."""
    return _driver_result(drivers(old), drivers(new))


def _driver_result(o: list[str], n: list[str]) -> SectionResult:
    added, dropped = sorted(set(n) - set(o)), sorted(set(o) - set(n))
    findings = [
        Rule.DRIVER_ADDED.finding(name, None, f"connection driver {name} is new in NEW")
        for name in added
    ]
    findings += [
        Rule.DRIVER_DROPPED.finding(name, None, f"connection driver {name} is gone from NEW")
        for name in dropped
    ]
    return SectionResult(
        "hvdrivers",
        SectionStatus.NO_PROMISE,
        "the page promises no hypervisor driver or version forever (drivers follow what "
        "vendors support); the connection-driver modules added and dropped are info findings",
        {"old": o, "new": n, "added": added, "dropped": dropped},
        tuple(findings),
    )
