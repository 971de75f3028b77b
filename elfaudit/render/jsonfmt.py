"""The JSON report (``elfaudit-report``).

Serialised like every JSON output (:func:`elfaudit.render.dumps_json`: sorted keys,
two-space indent, trailing newline); its JSON Schema ships as
``elfaudit/data/report-schema.json``. The dump document (``elfaudit-dump``,
``dump-schema.json``) is :func:`elfaudit.readers.snapshot.dump_document`, written by
:func:`elfaudit.render.render_dump`.
"""

from __future__ import annotations

from typing import Any

from elfaudit import __version__
from elfaudit.model.guarantees import SectionResult
from elfaudit.model.report import Finding, Report, exit_code
from elfaudit.render import dumps_json
from elfaudit.render.common import section_counts, sorted_findings

SCHEMA_VERSION = 1
KIND = "elfaudit-report"


def _finding(f: Finding) -> dict[str, Any]:
    loc = f.location
    return {
        "rule": f.rule,
        "severity": f.severity.value,
        "library": f.library,
        "symbol": f.symbol,
        "version": f.version,
        "message": f.message,
        "location": (
            None if loc is None else {"path": loc.path, "line": loc.line, "column": loc.column}
        ),
        "waived": f.waived,
    }


def _section(report: Report, s: SectionResult) -> dict[str, Any]:
    counts = section_counts(s)
    return {
        "section": s.section,
        "status": s.status.value,
        "reason": s.reason,
        "evidence": dict(s.evidence),
        "findings": [_finding(f) for f in sorted_findings(report, s.findings)],
        "summary": {k: counts[k] for k in ("error", "warning", "info", "waived")},
    }


def report_document(report: Report) -> dict[str, Any]:
    """The report as plain JSON data (findings in the order every renderer uses); a
    ``guarantees`` report also lists its sections (``guarantees``)."""
    doc = _document(report)
    if report.guarantees:
        doc["guarantees"] = [_section(report, s) for s in report.guarantees]
    return doc


def _document(report: Report) -> dict[str, Any]:
    counts = report.counts()
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "command": report.command,
        "tool": {"name": "elfaudit", "version": __version__},
        "libraries": list(report.libraries),
        "findings": [_finding(f) for f in sorted_findings(report)],
        "private": [
            {
                "library": p.library,
                "old_nodes": list(p.old_nodes),
                "new_nodes": list(p.new_nodes),
                "added": p.added,
                "removed": p.removed,
                "symbols": sorted(p.symbols),
            }
            for p in sorted(report.private, key=lambda p: (p.library, p.old_nodes, p.new_nodes))
        ],
        "problems": [{"path": p.path, "message": p.message} for p in report.problems],
        "unused_waivers": list(report.unused_waivers),
        "summary": {
            "error": counts["error"],
            "warning": counts["warning"],
            "info": counts["info"],
            "waived": counts["waived"],
            "problems": len(report.problems),
        },
        "exit_code": exit_code(report),
        "extra": dict(report.extra),
    }


class JsonRenderer:
    def render(self, report: Report) -> str:
        return dumps_json(report_document(report))
