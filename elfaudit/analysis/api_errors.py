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
"""

from __future__ import annotations

from collections.abc import Mapping

from elfaudit.model.guarantees import ReleaseFiles, SectionResult, SectionStatus
from elfaudit.model.report import Finding
from elfaudit.policy.rules import Rule
from elfaudit.readers.api_xml import API_DIR, ApiEnumValue, parse_api

__all__ = ["API_XML_PATH", "ERROR_ENUMS", "check_api_errors", "check_drivers", "drivers"]

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


def _counts(values: Mapping[str, ApiEnumValue], rf: ReleaseFiles) -> dict[str, object]:
    out: dict[str, object] = {"file": f"/{API_XML_PATH}"}
    out["package"] = rf.origin.get(API_XML_PATH, rf.label)
    for enum in ERROR_ENUMS:
        out[enum] = sum(1 for e in values.values() if e.enum == enum)
    return out


def compare_error_codes(
    old: Mapping[str, ApiEnumValue], new: Mapping[str, ApiEnumValue]
) -> list[Finding]:
    """Removed, renumbered and added ``virErrorNumber`` / ``virErrorDomain`` values."""
    out: list[Finding] = []
    for name, o in sorted(old.items()):
        n = new.get(name)
        if n is None:
            out.append(
                Rule.API_ERROR_CODE_REMOVED.finding(
                    LIBRARY, None, f"{o.enum} value {name} ({_number(o)}) is gone", name
                )
            )
        elif _number(o) != _number(n) and not _is_sentinel(name):
            out.append(
                Rule.API_ERROR_CODE_RENUMBERED.finding(
                    LIBRARY,
                    None,
                    f"{o.enum} value {name} was {_number(o)}, is {_number(n)}",
                    name,
                )
            )
    for name, n in sorted(new.items()):
        if name not in old:
            out.append(
                Rule.API_ERROR_CODE_ADDED.finding(
                    LIBRARY, None, f"new {n.enum} value {name} ({_number(n)})", name
                )
            )
    return out


def check_api_errors(old: ReleaseFiles, new: ReleaseFiles) -> SectionResult:
    """The ``apierrors`` section: ``checked`` when both sides hold ``libvirt-api.xml``."""
    o, n = _error_values(old), _error_values(new)
    missing = [side for side, v in (("OLD", o), ("NEW", n)) if v is None]
    if o is None or n is None:
        return SectionResult(
            "apierrors",
            SectionStatus.NOT_CHECKED,
            f"no /{API_XML_PATH} in {' or '.join(missing)}",
            {
                side: ({} if v is None else _counts(v, rf))
                for side, v, rf in (("old", o, old), ("new", n, new))
            },
        )
    return SectionResult(
        "apierrors",
        SectionStatus.CHECKED,
        "",
        {"old": _counts(o, old), "new": _counts(n, new)},
        tuple(compare_error_codes(o, n)),
    )


def drivers(rf: ReleaseFiles) -> list[str]:
    """The connection-driver modules of a release, by file name."""
    return sorted(p.rsplit("/", 1)[-1] for p in rf.files if DRIVERS in f"/{p}")


def check_drivers(old: ReleaseFiles, new: ReleaseFiles) -> SectionResult:
    """The ``hvdrivers`` section: ``no-promise``, the modules added and dropped as info."""
    o, n = drivers(old), drivers(new)
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
