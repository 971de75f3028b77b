"""Findings and reports: what a command found, and its exit code (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from elfaudit.model.exitcodes import EXIT_CHANGE, EXIT_ERROR, EXIT_INCOMPATIBLE, EXIT_OK

if TYPE_CHECKING:
    from elfaudit.model.guarantees import SectionResult
    from elfaudit.model.script import Location


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 2, "warning": 1, "info": 0}[self.value]


class NodeClass(str, Enum):
    """How a profile treats a version node."""

    PUBLIC = "public"  # stable forever: changes are errors
    WEAK = "weak"  # e.g. hypervisor-specific API: changes are warnings
    PRIVATE = "private"  # exempt, summarised only


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    library: str
    symbol: str | None
    version: str | None
    message: str
    location: Location | None = None
    waived: str | None = None  # the waiver's reason when a waiver matched
    # Facts a policy weighs (see elfaudit.policy.weigh); never rendered, not compared.
    hidden: bool = field(default=False, compare=False)  # the symbol is non-default (``@``)
    api: str | None = field(default=None, compare=False)  # API module, e.g. ``libvirt-qemu``
    # Set only by the weighing pass: the severity is final (raw findings carry the rule's).
    weighed: bool = field(default=False, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PrivateSummary:
    """Churn in private nodes, summarised rather than listed."""

    library: str
    old_nodes: tuple[str, ...]
    new_nodes: tuple[str, ...]
    added: int
    removed: int
    symbols: tuple[str, ...] = ()  # listed only with --show-private


@dataclass(frozen=True, slots=True)
class Problem:
    """Something that could not be audited (a result, not a crash)."""

    path: str
    message: str


@dataclass(frozen=True, slots=True)
class Report:
    """The outcome of one command: findings plus what could not be audited."""

    command: str
    libraries: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    private: tuple[PrivateSummary, ...] = ()
    problems: tuple[Problem, ...] = ()
    unused_waivers: tuple[str, ...] = ()
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)
    # ``guarantees``: one verdict per section of the support page (weighed findings, which
    # ``findings`` also holds); empty for every other command.
    guarantees: tuple[SectionResult, ...] = ()

    @property
    def active(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.waived is None)

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        out["waived"] = 0
        for f in self.findings:
            if f.waived is not None:
                out["waived"] += 1
            else:
                out[f.severity.value] += 1
        return out


def exit_code(report: Report) -> int:
    """abidiff's bitmask: 1 could not audit, 4 findings, 12 error-severity findings."""
    code = EXIT_OK
    active = report.active
    if any(f.severity is Severity.ERROR for f in active):
        code |= EXIT_INCOMPATIBLE
    elif active:
        code |= EXIT_CHANGE
    if report.problems:
        code |= EXIT_ERROR
    return code
