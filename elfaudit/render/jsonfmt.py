"""JSON documents: the report (``elfaudit-report``) and the dump (``elfaudit-dump``).

Both are serialised with sorted keys, two-space indent and a trailing newline; their
JSON Schemas ship as ``elfaudit/data/report-schema.json`` and ``dump-schema.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from elfaudit import __version__
from elfaudit.model import Finding, LibraryABI, Report, exit_code
from elfaudit.render import dumps_json, sorted_findings
from elfaudit.snapshot import dump_document

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


def report_document(report: Report) -> dict[str, Any]:
    """The report as plain JSON data (findings in the order every renderer uses)."""
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


def render_dump_json(abis: Sequence[LibraryABI], *, imports: bool = False) -> str:
    return dumps_json(dump_document(abis, imports=imports))
