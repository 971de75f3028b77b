"""The checks a library can fail on its own, with no version script or earlier release:
what ``scan`` runs on every library it finds."""

from __future__ import annotations

from elfaudit.analysis.conformance import chain_breaks
from elfaudit.analysis.raw import RawFindings
from elfaudit.model.abi import LibraryABI
from elfaudit.model.report import Finding
from elfaudit.policy.profiles import Profile
from elfaudit.policy.rules import Rule

# --------------------------------------------------------------------------- self check


def self_check(abi: LibraryABI, profile: Profile) -> list[Finding]:
    """Checks one library can pass alone, with no version script and no earlier release.

    - ``symbol-unversioned``: exported without a version although the library defines nodes;
    - ``symbol-not-default``: exported only as hidden ``name@NODE`` (new programs cannot link;
      old ones still run, so info for the generic profile: glibc keeps such compat
      symbols on purpose; an error for libvirt's, which promises linkable API);
    - ``script-chain-broken`` (profiles with ``chain``): in ``.gnu.version_d`` order, each
      public or weak node inherits exactly the previous node of its prefix family (the first
      of a family inherits nothing) and node names increase numerically.

    The findings are raw: the weighing pass exempts private nodes and softens weak ones.
    """
    name = abi.name
    sink = RawFindings(name)
    add = sink.add

    if abi.versioned:
        for s in abi.symbols:
            if s.version is None:
                add(
                    Rule.SYMBOL_UNVERSIONED,
                    None,
                    f"{s.name} is exported without a version although {name} defines versions",
                    s.name,
                )
    has_default = {s.name for s in abi.symbols if s.default and s.version is not None}
    for s in abi.symbols:
        if s.version is not None and not s.default and s.name not in has_default:
            add(
                Rule.SYMBOL_NOT_DEFAULT,
                s.version,
                f"{s.name} is exported only as {s.label} (hidden): new programs cannot link it",
                s.name,
                hidden=True,
            )
    if profile.chain:
        for node, message in chain_breaks(
            [(v.name, v.parents) for v in abi.versions if not v.base], profile
        ):
            add(Rule.SCRIPT_CHAIN_BROKEN, node, message)
    return sorted(sink.findings, key=lambda f: (f.rule, f.version or "", f.symbol or ""))
