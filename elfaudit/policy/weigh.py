"""The weighing pass: the one place where policy turns raw findings into a verdict.

Analysers (:mod:`elfaudit.analysis`, :mod:`elfaudit.graph.judge`'s comparisons) report
*raw* findings: the rule's catalogue severity plus the facts a policy needs, namely the
version node (``Finding.version``), the library, whether the symbol concerned is hidden
(``Finding.hidden``) and, for API-description findings, the API module (``Finding.api``).
They never decide what a finding is worth. This module does, in one pass:

1. the class of the finding: the profile's class of its node (public, weak, private) or,
   for an API-description finding, the stricter-to-exempt of the API module's class and
   the node's (a symbol in a private node is private whatever the description);
2. its severity: the rule's table in the catalogue (:meth:`RuleSpec.severities
   <elfaudit.policy.rules.RuleSpec.severities>`) with the profile's ``"severities"``
   overrides on top, looked up by class; for a hidden symbol, at most the ``hidden``
   entry. An exempt result drops the finding;
3. waivers (:func:`elfaudit.policy.waivers.apply_waivers`), when given.

Commands load the profiles and waiver files and call this; a finding is weighed exactly
once (weighing one twice is a bug, and raises).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from elfaudit.model.report import Finding, NodeClass, Severity
from elfaudit.policy import waivers as wv
from elfaudit.policy.profiles import Profile, profile_for
from elfaudit.policy.rules import BY_ID

#: Which profile judges a finding, from its library name.
ProfileOf = Callable[[str], Profile]

_EXEMPTING = {NodeClass.PUBLIC: 0, NodeClass.WEAK: 1, NodeClass.PRIVATE: 2}


class Profiles:
    """``ProfileOf`` as commands choose profiles: ``override`` (a name or a file) for every
    library, else by SONAME (``sonames`` maps a report's library name to its SONAME).
    Each profile is loaded once; :attr:`chosen` lists them in the order first used."""

    def __init__(self, override: str | None = None, sonames: dict[str, str | None] | None = None):
        self.override = override
        self.sonames = dict(sonames or {})
        self._by_soname: dict[str | None, Profile] = {}
        self.chosen: list[Profile] = []

    def __call__(self, library: str) -> Profile:
        soname = self.sonames.get(library, library)
        prof = self._by_soname.get(soname)
        if prof is None:
            prof = self._by_soname[soname] = profile_for(soname, self.override)
            if prof not in self.chosen:
                self.chosen.append(prof)
        return prof


def finding_class(f: Finding, profile: Profile) -> NodeClass:
    """The class a finding is weighed in."""
    cls = profile.node_class(f.version)
    if f.api is not None:
        api = profile.api_class(f.api)
        if _EXEMPTING[api] > _EXEMPTING[cls]:
            cls = api
    return cls


def severity_for(
    rule_id: str, cls: NodeClass, profile: Profile, *, hidden: bool = False
) -> Severity | None:
    """The severity of rule ``rule_id`` in class ``cls`` under ``profile`` (None: exempt)."""
    table = profile.severity_table(rule_id)
    sev = table[cls.value]
    if hidden and cls is not NodeClass.PRIVATE and "hidden" in table:
        cap = table["hidden"]
        if cap is None or sev is None:
            return None
        if cap.rank < sev.rank:
            return cap
    return sev


def _unknown_rule_table(f: Finding, cls: NodeClass) -> Severity | None:
    """A rule outside the catalogue (only tests and plug-ins make one): weighed as a
    catalogue rule of the finding's severity would be."""
    if cls is NodeClass.PRIVATE:
        return None
    if cls is NodeClass.WEAK and f.severity is Severity.ERROR:
        return Severity.WARNING
    return f.severity


def weigh(raw: Iterable[Finding], profile: Profile | ProfileOf) -> list[Finding]:
    """Raw findings in, weighed ones out (exempt ones dropped), in the same order."""
    profile_of: ProfileOf = (lambda _lib: profile) if isinstance(profile, Profile) else profile
    out: list[Finding] = []
    for f in raw:
        if f.weighed:
            raise ValueError(f"{f.rule} on {f.library} ({f.message}) was already weighed")
        prof = profile_of(f.library)
        cls = finding_class(f, prof)
        if f.rule in BY_ID:
            sev = severity_for(f.rule, cls, prof, hidden=f.hidden)
        else:
            sev = _unknown_rule_table(f, cls)
        if sev is None:
            continue
        out.append(replace(f, severity=sev, weighed=True))
    return out


def waive(
    findings: Sequence[Finding], waivers: Sequence[wv.Waiver], *, release: str | None = None
) -> tuple[list[Finding], list[wv.Waiver]]:
    """The waiver step of the pass (on weighed findings): waived ones marked, and the
    waivers that matched nothing."""
    if not waivers:
        return list(findings), []
    applied, unused = wv.apply_waivers(findings, waivers, release=release)
    return list(applied), list(unused)


def weigh_and_waive(
    raw: Iterable[Finding],
    profile: Profile | ProfileOf,
    waivers: Sequence[wv.Waiver] = (),
    *,
    release: str | None = None,
) -> tuple[list[Finding], list[wv.Waiver]]:
    """The whole pass: :func:`weigh`, then :func:`waive`."""
    return waive(weigh(raw, profile), waivers, release=release)
