"""What every report format shares, so that all of them list findings in the same order
and agree on the verdict: rule lookup and families, ordering, one-line phrasing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from elfaudit.model.guarantees import SectionResult, SectionStatus
from elfaudit.model.report import Finding, Report, Severity
from elfaudit.model.tags import node_key
from elfaudit.policy.rules import BY_ID, RuleSpec

#: Rule families in the order reports list them (``RuleSpec.family``).
FAMILIES: tuple[str, ...] = ("script", "compare", "package", "graph", "api", "symbols-file")

#: The families a passing run of each command reports on (JUnit testcases).
COMMAND_FAMILIES: dict[str, tuple[str, ...]] = {
    "check": ("script",),
    "compare": ("compare", "package"),
    "graph-check": ("compare", "graph"),
    "gate": ("script", "compare", "graph"),
    "scan": ("script", "compare"),
    "symbols-file": ("symbols-file",),
    "api-compare": ("api",),
    "guarantees": ("compare", "package", "api"),
}


def rule_spec(rule_id: str) -> RuleSpec | None:
    """The catalogue entry of a rule id, or None for an id the catalogue does not know."""
    rule = BY_ID.get(rule_id)
    return rule.value if rule is not None else None


def rule_family(rule_id: str) -> str:
    spec = rule_spec(rule_id)
    return spec.family if spec is not None else "other"


def library_order(report: Report) -> list[str]:
    """Libraries as reports list them: ``report.libraries`` first, then any other named by a
    finding or a private summary, alphabetically."""
    seen = dict.fromkeys(report.libraries)
    others = {f.library for f in report.findings} | {p.library for p in report.private}
    return [*seen, *sorted(others - seen.keys())]


#: Rules listed first within their severity: what makes every other finding moot.
LEADING_RULES: dict[str, int] = {"machine-changed": 0, "soname-changed": 1}


def finding_sort_key(report: Report) -> Callable[[Finding], tuple[Any, ...]]:
    """Key: library (report order), severity rank descending, :data:`LEADING_RULES` first,
    rule, symbol, version node in version order (``LIBVIRT_7.1.0`` before
    ``LIBVIRT_10.1.0``: :func:`elfaudit.model.tags.node_key`), rest."""
    rank = {lib: i for i, lib in enumerate(library_order(report))}
    last = len(LEADING_RULES)

    def key(f: Finding) -> tuple[Any, ...]:
        return (
            rank.get(f.library, len(rank)),
            f.library,
            -f.severity.rank,
            LEADING_RULES.get(f.rule, last),
            f.rule,
            f.symbol or "",
            node_key(f.version),
            f.message,
            str(f.location) if f.location is not None else "",
            f.waived or "",
        )

    return key


def sorted_findings(report: Report, findings: Iterable[Finding] | None = None) -> list[Finding]:
    return sorted(report.findings if findings is None else findings, key=finding_sort_key(report))


def subject(f: Finding) -> str:
    """What a finding is about: ``symbol@version``, ``symbol``, ``version``, or the library."""
    if f.symbol is not None and f.version is not None:
        return f"{f.symbol}@{f.version}"
    return f.symbol or f.version or f.library


def finding_line(f: Finding) -> str:
    """One line naming a finding: ``rule: subject: message [location]``."""
    where = f" [{f.location}]" if f.location is not None else ""
    return f"{f.rule}: {subject(f)}: {f.message}{where}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def count_phrase(report: Report) -> str:
    """``3 errors, 1 warning, 12 info, 1 waived, 1 problem`` (zeros left out)."""
    c = report.counts()
    parts = []
    if c["error"]:
        parts.append(_plural(c["error"], "error"))
    if c["warning"]:
        parts.append(_plural(c["warning"], "warning"))
    if c["info"]:
        parts.append(f"{c['info']} info")
    if c["waived"]:
        parts.append(f"{c['waived']} waived")
    if report.problems:
        parts.append(_plural(len(report.problems), "problem"))
    return ", ".join(parts)


def verdict(report: Report) -> str:
    """One word or phrase for the outcome, consistent with :func:`elfaudit.model.report.exit_code`.

    INCOMPATIBLE (an active error), COULD NOT AUDIT (a problem, no active error),
    COMPATIBLE WITH WARNINGS, COMPATIBLE (only info and/or waived findings),
    NO CHANGE (compare found nothing at all), CLEAN (other commands found nothing).
    """
    active = report.active
    if any(f.severity is Severity.ERROR for f in active):
        return "INCOMPATIBLE"
    if report.problems:
        return "COULD NOT AUDIT"
    if any(f.severity is Severity.WARNING for f in active):
        return "COMPATIBLE WITH WARNINGS"
    if report.findings:
        return "COMPATIBLE"
    return "NO CHANGE" if report.command == "compare" else "CLEAN"


def verdict_line(report: Report) -> str:
    """``verdict: INCOMPATIBLE (3 errors, 1 warning, 12 info, 1 waived)``."""
    counts = count_phrase(report)
    return f"verdict: {verdict(report)}" + (f" ({counts})" if counts else "")


def junit_families(report: Report, library: str) -> list[str]:
    """The families a library's JUnit testsuite has a testcase for."""
    wanted = set(COMMAND_FAMILIES.get(report.command, ()))
    wanted |= {rule_family(f.rule) for f in report.findings if f.library == library}
    return [*(f for f in FAMILIES if f in wanted), *sorted(wanted - set(FAMILIES))]


def section_counts(section: SectionResult) -> dict[str, int]:
    """A section's findings counted like :meth:`Report.counts`."""
    out = {s.value: 0 for s in Severity}
    out["waived"] = 0
    for f in section.findings:
        out["waived" if f.waived is not None else f.severity.value] += 1
    return out


def section_verdict(section: SectionResult) -> str:
    """``checked: 2 errors, 1 warning``, ``not-checked``, ``no-promise``."""
    status = section.status.value
    if section.status is not SectionStatus.CHECKED:
        return status
    c = section_counts(section)
    parts = [_plural(c[k], k) for k in ("error", "warning") if c[k]]
    if c["info"]:
        parts.append(f"{c['info']} info")
    if c["waived"]:
        parts.append(f"{c['waived']} waived")
    return f"{status}: {', '.join(parts) if parts else 'no finding'}"


def evidence_summary(section: SectionResult) -> str:
    """The evidence in a few words: per side, how many items of each kind it lists."""
    sides = []
    for side in ("old", "new"):
        value = section.evidence.get(side)
        if not value:
            continue
        if isinstance(value, dict):
            nested = {k: v for k, v in value.items() if isinstance(v, dict | list)}
            if nested:  # {"files": {...}, "lenses": {...}}: count each kind
                text = ", ".join(f"{len(v)} {k.replace('_', ' ')}" for k, v in nested.items())
            else:  # scalars only, e.g. {"file": ..., "virErrorNumber": 116}
                text = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items())
        elif isinstance(value, list):
            text = _plural(len(value), "item")
        else:
            continue
        sides.append(f"{side}: {text}")
    extra = [
        f"{k}: {', '.join(map(str, v)) if v else '-'}"
        for k, v in section.evidence.items()
        if k not in ("old", "new") and isinstance(v, list)
    ]
    return "; ".join(sides + extra)
