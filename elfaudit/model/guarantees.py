"""A release's shipped files and the verdict per section of libvirt's support page (stdlib only).

``elfaudit guarantees OLD NEW`` judges two releases section by section, keyed by the anchors of
libvirt's support-guarantees page. Each section's checker gets both releases as
:class:`ReleaseFiles` (the files of interest found in the packages or the tree, by path inside
the package) and returns a :class:`SectionResult`; the command weighs the findings and builds
the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from elfaudit.model.report import Finding

#: The sections of the support page, in its order (its anchors).
SECTIONS = (
    "publicAPI",
    "hvAPI",
    "apierrors",
    "xmlschema",
    "configfiles",
    "hvdrivers",
    "rpcproto",
    "virsh",
)

#: SONAMEs judged per library section (their API descriptions, ``<api name=...>``, beside).
LIBRARIES = {
    "publicAPI": ("libvirt.so.0", "libvirt-admin.so.0"),
    "hvAPI": ("libvirt-qemu.so.0", "libvirt-lxc.so.0"),
}


class SectionStatus(str, Enum):
    CHECKED = "checked"
    NOT_CHECKED = "not-checked"  # the promise is checkable, but not from these inputs
    NO_PROMISE = "no-promise"  # the page promises nothing that shipped files can show


@dataclass(frozen=True, slots=True)
class ReleaseFiles:
    """The files of one release that the sections look at.

    ``files`` maps a path inside the packages (``usr/share/libvirt/schemas/domain.rng``, no
    leading slash) to its bytes; ``origin`` maps the same path to the package (or tree) it
    came from, for evidence.
    """

    label: str  # how reports name this release: the path given on the command line
    files: Mapping[str, bytes] = field(default_factory=dict)
    origin: Mapping[str, str] = field(default_factory=dict)

    def under(self, prefix: str) -> dict[str, bytes]:
        """The files whose path starts with ``prefix`` (e.g. ``usr/share/libvirt/schemas/``)."""
        return {p: d for p, d in self.files.items() if p.startswith(prefix)}


@dataclass(frozen=True, slots=True)
class SectionResult:
    """One section's verdict: its status, why (for not-checked / no-promise), the evidence a
    reader can check (files, packages, counts) and the findings, raw until the command weighs
    them."""

    section: str
    status: SectionStatus
    reason: str = ""
    evidence: Mapping[str, object] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()


#: A section's facts about one release, what the release graph stores so that a new release
#: can be judged against every ancestor without its files: JSON values (str, int, bool,
#: None, lists, objects) keyed by item (a procedure, a message, a command, a schema path...),
#: deterministic and compact. Keys are stable item names; the graph stores a release's facts
#: as a delta against its first parent, item by item. Each section's checker module has
#: ``facts(rf: ReleaseFiles) -> SectionFacts | None`` (None: the release ships none of what
#: the section reads) and ``compare_facts(old, new, old_label, new_label) -> SectionResult``
#: (raw findings); its ``check_*(old, new)`` on the files is ``compare_facts`` of both facts,
#: plus what only the files can show (evidence).
SectionFacts = Mapping[str, object]
