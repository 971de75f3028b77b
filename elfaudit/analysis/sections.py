"""The sections of libvirt's support page whose facts a release's package set yields, and
how each compares two releases' facts (the graph's judge and ``graph record`` use this).

Each section's checker module has ``facts(rf) -> SectionFacts | None`` and
``compare_facts(old, new, old_label, new_label) -> SectionResult`` (raw findings); see
:data:`elfaudit.model.guarantees.SectionFacts`. The modules are imported only when used
(the schema checker loads lxml). ``publicAPI`` and ``hvAPI`` are the libraries (the graph's
library records) and their API descriptions (facts here).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import cast

from elfaudit.model.guarantees import SECTIONS, ReleaseFiles, SectionFacts, SectionResult

FactsOf = Callable[[ReleaseFiles], "SectionFacts | None"]
CompareFacts = Callable[[SectionFacts, SectionFacts, str, str], SectionResult]

#: section -> (module, facts function, compare function), in the page's order.
CHECKERS: dict[str, tuple[str, str, str]] = {
    "publicAPI": ("elfaudit.analysis.api_checks", "public_api_facts", "compare_public_api_facts"),
    "hvAPI": ("elfaudit.analysis.api_checks", "hv_api_facts", "compare_hv_api_facts"),
    "apierrors": ("elfaudit.analysis.api_errors", "error_facts", "compare_error_facts"),
    "xmlschema": ("elfaudit.analysis.schemas", "facts", "compare_facts"),
    "configfiles": ("elfaudit.analysis.config_files", "facts", "compare_facts"),
    "hvdrivers": ("elfaudit.analysis.api_errors", "driver_facts", "compare_driver_facts"),
    "rpcproto": ("elfaudit.analysis.rpc_protocol", "facts", "compare_facts"),
    "virsh": ("elfaudit.analysis.virsh_commands", "facts", "compare_facts"),
}
assert tuple(CHECKERS) == SECTIONS


def _function(section: str, which: int) -> Callable[..., object]:
    module, *names = CHECKERS[section]
    return cast("Callable[..., object]", getattr(importlib.import_module(module), names[which]))


def facts_function(section: str) -> FactsOf:
    return cast(FactsOf, _function(section, 0))


def compare_function(section: str) -> CompareFacts:
    return cast(CompareFacts, _function(section, 1))


def release_facts(rf: ReleaseFiles) -> dict[str, SectionFacts]:
    """Every section's facts about one release (the sections it ships nothing of left out).
    Bad input raises :class:`~elfaudit.base.errors.InputError` naming the file."""
    out: dict[str, SectionFacts] = {}
    for section in CHECKERS:
        facts = facts_function(section)(rf)
        if facts is not None:
            out[section] = facts
    return out


def compare_section(
    section: str,
    old: Mapping[str, object],
    new: Mapping[str, object],
    old_label: str,
    new_label: str,
) -> SectionResult:
    """One section's raw verdict, OLD's facts to NEW's."""
    return compare_function(section)(old, new, old_label, new_label)
