"""SARIF 2.1.0 for code-scanning dashboards: one run, one result per finding.

Findings located in a version script get a ``physicalLocation`` (path relative to the
current directory when it lies below it, else a ``file://`` URI); every result also
names its symbol as a ``logicalLocation``. Waived findings carry an external suppression;
problems become tool execution notifications and mark the invocation unsuccessful.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from elfaudit import __version__
from elfaudit.model.report import Finding, Report, Severity
from elfaudit.render import dumps_json
from elfaudit.render.common import rule_family, rule_spec, sorted_findings

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://pypi.org/project/elfaudit/"

_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def camel_case(rule_id: str) -> str:
    """``symbol-added-to-released-node`` -> ``SymbolAddedToReleasedNode``."""
    return "".join(p[:1].upper() + p[1:] for p in rule_id.replace("_", "-").split("-") if p)


def artifact_uri(path: str, cwd: Path | None = None) -> str:
    """A path relative to ``cwd`` (default: the current directory) when below it, else a
    ``file://`` URI of the absolute path."""
    base = (cwd or Path.cwd()).resolve()
    target = Path(os.path.abspath(base / path))
    try:
        rel = target.relative_to(base)
    except ValueError:
        return target.as_uri()
    return quote(rel.as_posix(), safe="/")


def _rule(rule_id: str, severity: Severity) -> dict[str, Any]:
    spec = rule_spec(rule_id)
    if spec is None:
        summary, guarantee, level, family = rule_id, "", _LEVEL[severity], rule_family(rule_id)
    else:
        summary, guarantee = spec.summary, spec.guarantee
        level, family = _LEVEL[spec.severity], spec.family
    full = f"{summary} {guarantee}".strip()
    return {
        "id": rule_id,
        "name": camel_case(rule_id),
        "shortDescription": {"text": summary},
        "fullDescription": {"text": full},
        "help": {"text": f"{summary}\nGuarantee: {guarantee}" if guarantee else summary},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": [family]},
    }


def _logical(f: Finding) -> dict[str, Any]:
    if f.symbol is None:
        return {"name": f.library, "fullyQualifiedName": f.library, "kind": "module"}
    fqn = f"{f.library}:{f.symbol}" + (f"@{f.version}" if f.version is not None else "")
    return {"name": f.symbol, "fullyQualifiedName": fqn, "kind": "function"}


def _result(f: Finding, rule_index: int, cwd: Path | None) -> dict[str, Any]:
    location: dict[str, Any] = {"logicalLocations": [_logical(f)]}
    if f.location is not None:
        location["physicalLocation"] = {
            "artifactLocation": {"uri": artifact_uri(f.location.path, cwd)},
            "region": {"startLine": f.location.line, "startColumn": f.location.column},
        }
    out: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity],
        "message": {"text": f.message},
        "locations": [location],
        "properties": {"library": f.library, "symbol": f.symbol, "version": f.version},
    }
    if f.waived is not None:
        out["suppressions"] = [{"kind": "external", "justification": f.waived}]
    return out


class SarifRenderer:
    def __init__(self, *, cwd: Path | None = None) -> None:
        self.cwd = cwd

    def render(self, report: Report) -> str:
        findings = sorted_findings(report)
        severity_of: dict[str, Severity] = {}
        for f in findings:
            severity_of.setdefault(f.rule, f.severity)
        rule_ids = sorted(severity_of)
        index = {r: i for i, r in enumerate(rule_ids)}
        notifications = [
            {
                "level": "error",
                "message": {"text": f"could not audit {p.path}: {p.message}"},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": artifact_uri(p.path, self.cwd)}
                        }
                    }
                ],
            }
            for p in report.problems
        ]
        invocation: dict[str, Any] = {"executionSuccessful": not report.problems}
        if notifications:
            invocation["toolExecutionNotifications"] = notifications
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": "elfaudit",
                    "version": __version__,
                    "semanticVersion": __version__,
                    "informationUri": INFORMATION_URI,
                    "rules": [_rule(r, severity_of[r]) for r in rule_ids],
                }
            },
            "automationDetails": {"id": f"elfaudit/{report.command}/"},
            "columnKind": "unicodeCodePoints",
            "invocations": [invocation],
            "results": [_result(f, index[f.rule], self.cwd) for f in findings],
            "properties": {
                "command": report.command,
                "libraries": list(report.libraries),
                "unusedWaivers": list(report.unused_waivers),
            },
        }
        if report.guarantees:
            run["properties"]["guarantees"] = [
                {"section": g.section, "status": g.status.value, "reason": g.reason}
                for g in report.guarantees
            ]
        doc = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
        return dumps_json(doc)
