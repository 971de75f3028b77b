"""Collecting raw findings: what an analyser found, with the facts policy weighs.

Analysers never weigh (no profile decides here what a finding is worth): the weighing
pass, :mod:`elfaudit.policy.weigh`, called by the commands, does that once.
"""

from __future__ import annotations

from elfaudit.model.report import Finding
from elfaudit.model.script import Location
from elfaudit.policy.rules import Rule


class RawFindings:
    """One library's raw findings, in the order found."""

    def __init__(self, library: str) -> None:
        self.library = library
        self.findings: list[Finding] = []

    def add(
        self,
        rule: Rule,
        node: str | None,
        message: str,
        symbol: str | None = None,
        *,
        location: Location | None = None,
        hidden: bool = False,
    ) -> None:
        self.findings.append(
            rule.finding(self.library, node, message, symbol, location=location, hidden=hidden)
        )
