"""``graph check`` of a whole package set: each section's facts against every ancestor.

A release recorded from its package set holds each section's facts (see
:mod:`elfaudit.graph.dag`). A new release's facts are compared, section by section, with
the nearest ancestor that recorded the section (everything: breakage and news), then with
every other ancestor that recorded it for breakage only (a finding the nearest one did not
give: an item an older release shipped that a later one already dropped, say), each such
finding saying which release shipped what is broken. An ancestor whose facts of the
section are all, identically, in a newer ancestor's is skipped: comparing with the newer
one finds the same breakage (the facts are item -> value; a removal or a change of an
item the older one shipped is one of the newer one's too).

Findings are raw (the command weighs them with the page's profile).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace

from elfaudit.analysis.sections import CHECKERS
from elfaudit.analysis.sections import compare_section as _compare
from elfaudit.base.errors import GraphError, InputError
from elfaudit.graph.dag import ReleaseGraph
from elfaudit.model.guarantees import SectionFacts, SectionResult, SectionStatus
from elfaudit.model.report import Finding, Severity


def _content(facts: SectionFacts) -> frozenset[tuple[str, str]]:
    return frozenset((k, json.dumps(v, sort_keys=True)) for k, v in facts.items())


def _covering(graph: ReleaseGraph, section: str, newest_first: Sequence[str]) -> list[str]:
    kept: list[tuple[str, frozenset[tuple[str, str]]]] = []
    for anc in newest_first:
        content = _content(graph.release(anc).sections[section])
        if not any(content <= other for _, other in kept):
            kept.append((anc, content))
    return [anc for anc, _ in kept]


def compare_section(
    graph: ReleaseGraph, section: str, ancestor: str, new: SectionFacts, release: str
) -> SectionResult:
    """An ancestor's stored facts against the new release's; facts the section's checker
    cannot read are a corrupt graph (one line naming the file, the section, the release)."""
    old = graph.release(ancestor).sections[section]
    try:
        return _compare(section, old, new, ancestor, release)
    except GraphError:
        raise
    except InputError as exc:
        raise GraphError(
            graph.path,
            f"corrupt release graph: {section} facts of {ancestor} or {release}: {exc.reason}",
        ) from None


def _key(f: Finding) -> tuple[object, ...]:
    return (f.rule, f.library, f.symbol, f.version)


def judge_sections(
    graph: ReleaseGraph,
    facts: Mapping[str, SectionFacts],
    release: str,
    chosen: Sequence[str],
    ordered: Sequence[str],
) -> list[SectionResult]:
    """One result per section that the new release or an ancestor recorded, in the page's
    order; ``ordered``: the ancestors, oldest first; ``chosen``: the parents."""
    results: list[SectionResult] = []
    nearest_first = _nearest_first(graph, chosen, ordered)
    for section in CHECKERS:
        having = [a for a in nearest_first if section in graph.release(a).sections]
        if section not in facts and not having:
            continue
        if section not in facts:
            results.append(
                SectionResult(
                    section,
                    SectionStatus.NOT_CHECKED,
                    f"this build ships none of what the section reads; "
                    f"{', '.join(having)} recorded it",
                )
            )
            continue
        new = facts[section]
        if not having:
            results.append(
                SectionResult(
                    section,
                    SectionStatus.NOT_CHECKED,
                    "no earlier release recorded this section (record a release's package "
                    "set with graph record DIR)",
                    {"items": len(new)},
                )
            )
            continue
        base = having[0]
        first = compare_section(graph, section, base, new, release)
        findings = list(first.findings)
        seen = {_key(f) for f in findings}
        compared = [base]
        for anc in _covering(graph, section, having):
            if anc == base:
                continue
            compared.append(anc)
            other = compare_section(graph, section, anc, new, release)
            for f in other.findings:
                if f.severity is Severity.INFO or _key(f) in seen:
                    continue
                seen.add(_key(f))
                findings.append(replace(f, message=f"{f.message} (shipped in {anc})"))
        evidence = {
            "compared_with": compared,
            "skipped_as_covered": [a for a in having if a not in compared],
            "items": len(new),
            **({"nearest": dict(first.evidence)} if first.evidence else {}),
        }
        results.append(
            SectionResult(section, first.status, first.reason, evidence, tuple(findings))
        )
    return results


def _nearest_first(graph: ReleaseGraph, chosen: Sequence[str], ordered: Sequence[str]) -> list[str]:
    """The ancestors, the parents first (in the order given), then the others newest first."""
    out = [p for p in chosen if p in ordered]
    out += [a for a in reversed(ordered) if a not in out]
    return out
